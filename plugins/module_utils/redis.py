# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Redis connection helpers and the algorithms behind the stratum.ops Redis modules.

Everything here is usable without Ansible: `connect(params)` takes the module's parameters as a
plain dict, `NamespaceCleanup` and `MemoryReport` take a redis-py client.
"""

from __future__ import annotations

import contextlib
import heapq
import time
from dataclasses import dataclass, field
from typing import Any

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoPermissionError, NoScriptError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by ansible-test's import sanity
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = exc
    RedisConnectionError = RedisTimeoutError = ResponseError = NoPermissionError = NoScriptError = Exception

from ansible.module_utils.basic import env_fallback
from ansible_collections.stratum.ops.plugins.module_utils.validation import (
    InvalidOption,
    check_host,
    check_number,
    check_port,
    check_redis_url,
    check_timeout,
)

KEY_TYPES = ["string", "list", "set", "zset", "hash", "stream"]
SAMPLE_SIZE = 10
# Redis' Lua unpack() overflows its C stack past ~8000 values; stay well below it.
LUA_UNPACK_LIMIT = 4000
# One server-side chunk runs at most this many SCAN calls, so no call blocks much longer than a few SCANs.
MAX_SCANS_PER_CHUNK = 10
# A memory chunk also runs MEMORY USAGE and PTTL per key, so it stops after fewer SCANs.
MEMORY_SCANS_PER_CHUNK = 2


def redis_common_argument_spec() -> dict[str, Any]:
    """The connection options every stratum.ops Redis module accepts (see doc fragment stratum.ops.redis)."""
    return dict(
        url=dict(type="str", no_log=True, fallback=(env_fallback, ["REDIS_URL"])),
        host=dict(type="str", default="localhost"),
        port=dict(type="int", default=6379),
        db=dict(type="int", default=0),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        tls=dict(type="bool", default=False),
        ca_certs=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        connect_timeout=dict(type="float", default=5),
        command_timeout=dict(type="float", default=30),
    )


MAX_DB = 2**31 - 1


def redis_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of the common connection options (stratum.ops.validation.validate_module runs them)."""
    return [
        (check_redis_url, "url", params.get("url")),
        (check_host, "host", params.get("host")),
        (check_port, "port", params.get("port")),
        (check_number, "db", params.get("db"), 0, MAX_DB),
        (check_timeout, "connect_timeout", params.get("connect_timeout"), 3600),
        (check_timeout, "command_timeout", params.get("command_timeout"), 3600),
    ]


class RedisModuleError(Exception):
    """An expected failure, with a message for the person on call."""


def _option(params: dict[str, Any], name: str, default: Any) -> Any:
    """An option's value, or the default only when it is unset (0 is a value, never "use the default")."""
    value = params.get(name)
    return default if value is None else value


def connection_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Build redis.Redis() keyword arguments from module parameters (URL first, explicit credentials win)."""
    try:
        for func, option, value, *args in redis_checks(params):
            func(option, value, *args)
    except InvalidOption as exc:
        raise RedisModuleError(str(exc)) from None
    timeout = float(_option(params, "connect_timeout", 5))
    kwargs: dict[str, Any] = {}
    url = params.get("url")
    if url:
        try:
            kwargs.update(redis.connection.parse_url(url))
        except ValueError as exc:
            raise RedisModuleError(f"url is not a valid Redis URL: {exc}") from None
        kwargs.pop("connection_class", None)
        if url.startswith("rediss://"):
            kwargs["ssl"] = True
        kwargs.setdefault("db", _option(params, "db", 0))
    else:
        kwargs.update(
            host=_option(params, "host", "localhost"), port=_option(params, "port", 6379), db=_option(params, "db", 0)
        )
    for option in ("username", "password"):
        if params.get(option) is not None:
            kwargs[option] = params[option]
    if params.get("tls"):
        kwargs["ssl"] = True
    if kwargs.get("ssl"):
        kwargs["ssl_cert_reqs"] = "required" if params.get("validate_certs", True) else "none"
        if params.get("ca_certs"):
            kwargs["ssl_ca_certs"] = params["ca_certs"]
        if not params.get("validate_certs", True):
            kwargs["ssl_check_hostname"] = False
    # Both bounds always apply (a URL's ?socket_timeout= does not lift them): a hung server fails the module
    # after connect_timeout (connecting) plus command_timeout (per command), never later.
    kwargs.update(socket_connect_timeout=timeout, socket_timeout=float(_option(params, "command_timeout", 30)))
    # redis-py 6+ retries a failed command 3 times with backoff (about 4 s for a refused connection): on call we
    # want the failure at once, and a half-done cleanup chunk reported as such rather than silently re-sent.
    kwargs["retry"] = Retry(NoBackoff(), 0)
    return kwargs


def describe_endpoint(kwargs: dict[str, Any]) -> str:
    """host:port/db for messages (never the URL, which may hold a password)."""
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def connect(params: dict[str, Any]) -> tuple[Any, str]:
    """Connect and authenticate; return (client, endpoint description) or raise RedisModuleError."""
    kwargs = connection_kwargs(params)
    endpoint = describe_endpoint(kwargs)
    client = redis.Redis(**kwargs)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError as exc:
        if not kwargs.get("password"):
            raise RedisModuleError(f"Redis at {endpoint} requires a password; set password or url") from None
        user = kwargs.get("username") or "default"
        raise RedisModuleError(
            f"Redis at {endpoint} rejected the credentials of user {user!r} ({exc}); check username and password"
        ) from None
    except redis.exceptions.AuthenticationWrongNumberOfArgsError:
        raise RedisModuleError(f"Redis at {endpoint} does not support ACL users (Redis < 6); drop username") from None
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise RedisModuleError(f"cannot connect to Redis at {endpoint}: {exc}") from None
    except ResponseError as exc:
        if "NOAUTH" in str(exc):
            raise RedisModuleError(f"Redis at {endpoint} requires a password; set password or url") from None
        raise RedisModuleError(f"Redis at {endpoint} refused PING: {exc}") from None
    return client, endpoint


def refuse_cluster(client: Any, endpoint: str) -> None:
    """Fail clearly on a Redis Cluster node, where SCAN sees one shard and multi-key commands cross slots."""
    try:
        info = client.info("cluster")
    except ResponseError:
        return
    if str(info.get("cluster_enabled", 0)) == "1":
        raise RedisModuleError(
            f"{endpoint} is a Redis Cluster node; Redis Cluster is not supported (run against each shard's "
            "primary as a standalone server is not possible either, since multi-key commands cross slots)"
        )


@contextlib.contextmanager
def redis_errors(doing: str, refused: str) -> Any:
    """redis-py's connection and command errors as RedisModuleError saying what was being done."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise RedisModuleError(f"lost the connection to Redis while {doing}: {exc}") from None
    except ResponseError as exc:
        raise RedisModuleError(f"{refused}: {exc}") from None


def connect_standalone(module: Any) -> Any:
    """What every Redis module does first: hide the password from all output, connect, refuse a Cluster node."""
    password = connection_kwargs(module.params).get("password")
    if password:
        module.no_log_values.add(password)
    client, endpoint = connect(module.params)
    refuse_cluster(client, endpoint)
    return client


def display_name(name: bytes | str) -> str:
    """A key name as text for JSON output: UTF-8 where valid, backslash escapes for other bytes."""
    if isinstance(name, str):
        return name
    return name.decode("utf-8", "backslashreplace")


# ------------------------------------------------------------------------------ redis_cleanup
GLOB_SPECIALS = "*?["


def literal_prefix(pattern: str) -> str:
    """The literal characters a SCAN MATCH glob starts with, before its first wildcard (escapes honoured)."""
    prefix = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            prefix.append(pattern[i + 1])
            i += 2
            continue
        if char in GLOB_SPECIALS:
            break
        prefix.append(char)
        i += 1
    return "".join(prefix)


def broad_pattern_reason(pattern: str, min_prefix: int = 3) -> str | None:
    """Why a pattern could match (nearly) every key, or None when it is narrow enough."""
    if pattern.strip("*?") == "" and "*" in pattern:
        return f"pattern {pattern!r} matches every key"
    prefix = literal_prefix(pattern)
    if len(prefix) < min_prefix:
        return (
            f"pattern {pattern!r} has no literal prefix of at least {min_prefix} characters "
            f"(it starts with {prefix!r}), so it can match keys of unrelated namespaces"
        )
    return None


def validate_cleanup_options(
    pattern: str | None,
    action: str,
    ttl: int | None,
    batch_size: int,
    scan_count: int,
    max_keys: int | None,
    pause_ms: int,
    allow_broad_pattern: bool,
) -> None:
    """Raise RedisModuleError for inputs that would make a cleanup wrong or dangerous."""
    if not pattern:
        raise RedisModuleError("pattern must not be empty; give a SCAN MATCH glob such as 'cache:analytics:*'")
    if action == "expire":
        if ttl is None:
            raise RedisModuleError("ttl (seconds, > 0) is required with action=expire")
        if ttl <= 0:
            raise RedisModuleError(f"ttl must be > 0 seconds, got {ttl}; use action=unlink to remove keys now")
    elif ttl is not None:
        raise RedisModuleError(f"ttl is only used with action=expire, not action={action}")
    if batch_size < 1:
        raise RedisModuleError(f"batch_size must be >= 1, got {batch_size}")
    if scan_count < 1:
        raise RedisModuleError(f"scan_count must be >= 1, got {scan_count}")
    if max_keys is not None and max_keys < 1:
        raise RedisModuleError(f"max_keys must be >= 1 when set, got {max_keys}")
    if pause_ms < 0:
        raise RedisModuleError(f"pause_ms must be >= 0, got {pause_ms}")
    if not allow_broad_pattern:
        reason = broad_pattern_reason(pattern)
        if reason:
            raise RedisModuleError(f"refusing a broad pattern: {reason}; set allow_broad_pattern=true if you mean it")


# ARGV: cursor, pattern, scan_count, key_type ('' = any), action (unlink|del|expire), dry (1|0), ttl_ms,
# batch_size, limit (-1 = none), sample_n. Returns {cursor, scanned, matched, affected, stopped, sample...}.
CLEANUP_LUA = """
local cursor = ARGV[1]
local pattern = ARGV[2]
local count = tonumber(ARGV[3])
local ktype = ARGV[4]
local action = ARGV[5]
local dry = ARGV[6] == '1'
local ttl_ms = tonumber(ARGV[7])
local batch = tonumber(ARGV[8])
local limit = tonumber(ARGV[9])
local sample_n = tonumber(ARGV[10])
local unpack_max = tonumber(ARGV[11])
local max_scans = tonumber(ARGV[12])
local scanned, matched, affected, stopped, scans = 0, 0, 0, 0, 0
local sample = {}
repeat
  local res = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', count)
  cursor = res[1]
  scans = scans + 1
  local keys = res[2]
  scanned = scanned + #keys
  local todo = {}
  for i = 1, #keys do
    local k = keys[i]
    if ktype == '' or redis.call('TYPE', k)['ok'] == ktype then
      local wanted = true
      if action == 'expire' then
        local t = redis.call('PTTL', k)
        wanted = (t == -1) or (t > ttl_ms)
      end
      if wanted then
        if limit >= 0 and affected + #todo >= limit then
          stopped = 1
          break
        end
        todo[#todo + 1] = k
      end
      matched = matched + 1
    end
  end
  for i = 1, math.min(#todo, sample_n - #sample) do
    sample[#sample + 1] = todo[i]
  end
  if dry then
    affected = affected + #todo
  elseif action == 'expire' then
    for i = 1, #todo do
      affected = affected + redis.call('PEXPIRE', todo[i], ttl_ms)
    end
  else
    local step = math.min(batch, unpack_max)
    for i = 1, #todo, step do
      affected = affected + redis.call(action, unpack(todo, i, math.min(i + step - 1, #todo)))
    end
  end
until cursor == '0' or stopped == 1 or matched >= batch or scans >= max_scans
local out = {cursor, scanned, matched, affected, stopped}
for i = 1, #sample do
  out[#out + 1] = sample[i]
end
return out
"""


@dataclass
class ChunkResult:
    """What one bounded SCAN-and-act step did."""

    cursor: int
    scanned: int
    matched: int
    affected: int
    stopped: bool
    sample: list[bytes]


@dataclass
class CleanupResult:
    """Totals of a cleanup run, as the module returns them."""

    matched: int = 0
    affected: int = 0
    scanned: int = 0
    truncated: bool = False
    sample: list[bytes] = field(default_factory=list)
    duration_seconds: float = 0.0
    method: str = "lua"

    @property
    def keys_per_second(self) -> float:
        return round(self.affected / self.duration_seconds, 1) if self.duration_seconds > 0 else 0.0


class CleanupInterrupted(RedisModuleError):
    """The connection broke mid-run; carries what was done before it did."""

    def __init__(self, message: str, partial: CleanupResult) -> None:
        super().__init__(message)
        self.partial = partial


class NamespaceCleanup:
    """Delete or expire the keys matching a glob without blocking Redis.

    The default method runs bounded server-side Lua chunks: each chunk does a few SCAN calls and
    UNLINKs (or PEXPIREs) what they returned, so names never travel to the client and no call
    blocks much longer than a SCAN. When the server refuses scripts (ACL without @scripting,
    managed Redis), the same steps run client-side: SCAN, then pipelined TYPE/PTTL/UNLINK.
    """

    def __init__(
        self,
        client: Any,
        pattern: str,
        action: str = "unlink",
        ttl: int | None = None,
        key_type: str | None = None,
        scan_count: int = 1000,
        batch_size: int = 1000,
        max_keys: int | None = None,
        pause_ms: int = 0,
        dry_run: bool = False,
    ) -> None:
        self.client = client
        self.pattern = pattern.encode("utf-8")
        self.action = action
        self.ttl_ms = (ttl or 0) * 1000
        self.key_type = key_type or ""
        self.scan_count = scan_count
        self.batch_size = batch_size
        self.max_keys = max_keys
        self.pause_ms = pause_ms
        self.dry_run = dry_run
        self._sha: str | None = None

    def _command(self) -> str:
        """unlink, del or expire; DEL on servers older than 4.0, which have no UNLINK."""
        if self.action == "expire":
            return "expire"
        if self.action == "delete":
            return "del"
        version = str(self.client.info("server").get("redis_version", "7"))
        leading = version.split(".", maxsplit=1)[0]
        major = int(leading) if leading.isdigit() else 7
        return "unlink" if major >= 4 else "del"

    def _lua_chunk(self, cursor: int, command: str, limit: int, sample_n: int) -> ChunkResult:
        args = [
            cursor,
            self.pattern,
            self.scan_count,
            self.key_type,
            command,
            "1" if self.dry_run else "0",
            self.ttl_ms,
            self.batch_size,
            limit,
            sample_n,
            LUA_UNPACK_LIMIT,
            MAX_SCANS_PER_CHUNK,
        ]
        if self._sha is None:
            self._sha = self.client.script_load(CLEANUP_LUA)
        try:
            out = self.client.evalsha(self._sha, 0, *args)
        except NoScriptError:
            # The script cache was flushed (SCRIPT FLUSH, failover): load it again once.
            self._sha = self.client.script_load(CLEANUP_LUA)
            out = self.client.evalsha(self._sha, 0, *args)
        return ChunkResult(int(out[0]), int(out[1]), int(out[2]), int(out[3]), bool(out[4]), list(out[5:]))

    def _client_chunk(self, cursor: int, command: str, limit: int, sample_n: int) -> ChunkResult:
        cursor, keys = self.client.scan(cursor, match=self.pattern, count=self.scan_count)
        scanned = len(keys)
        if self.key_type:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.type(key)
            types = pipe.execute()
            keys = [k for k, t in zip(keys, types, strict=True) if display_name(t) == self.key_type]
        matched = len(keys)
        if command == "expire" and keys:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.pttl(key)
            ttls = pipe.execute()
            keys = [k for k, t in zip(keys, ttls, strict=True) if t == -1 or t > self.ttl_ms]
        stopped = False
        if limit >= 0 and len(keys) > limit:
            keys, stopped = keys[:limit], True
        affected = len(keys)
        if not self.dry_run and keys:
            if command == "expire":
                pipe = self.client.pipeline(transaction=False)
                for key in keys:
                    pipe.pexpire(key, self.ttl_ms)
                affected = sum(1 for ok in pipe.execute() if ok)
            else:
                pipe = self.client.pipeline(transaction=False)
                for i in range(0, len(keys), self.batch_size):
                    pipe.execute_command(command.upper(), *keys[i : i + self.batch_size])
                affected = sum(pipe.execute())
        return ChunkResult(int(cursor), scanned, matched, affected, stopped, keys[:sample_n])

    def run(self) -> CleanupResult:
        """Scan the whole keyspace once (or up to max_keys) and return the totals."""
        result = CleanupResult()
        started = time.monotonic()
        # True while a chunk's command is on the wire: if its reply is lost, the server may have acted anyway.
        in_flight = False
        try:
            command = self._command()
            chunk = self._lua_chunk
            try:
                self._sha = self.client.script_load(CLEANUP_LUA)
            except (NoPermissionError, ResponseError):
                chunk, result.method = self._client_chunk, "client"
            cursor = 0
            while True:
                limit = -1 if self.max_keys is None else self.max_keys - result.affected
                in_flight = True
                step = chunk(cursor, command, limit, SAMPLE_SIZE - len(result.sample))
                in_flight = False
                cursor = step.cursor
                result.scanned += step.scanned
                result.matched += step.matched
                result.affected += step.affected
                result.sample.extend(step.sample)
                done = cursor == 0
                if step.stopped or (self.max_keys is not None and result.affected >= self.max_keys and not done):
                    result.truncated = True
                    break
                if done:
                    break
                if self.pause_ms:
                    time.sleep(self.pause_ms / 1000.0)
        except (RedisConnectionError, RedisTimeoutError, ResponseError) as exc:
            result.duration_seconds = round(time.monotonic() - started, 3)
            verb = "expired" if self.action == "expire" else "deleted"
            what = "Redis refused a command" if isinstance(exc, ResponseError) else "lost the connection to Redis"
            # A lost reply means the last chunk may have run on the server: the count is then a lower bound.
            lost = in_flight and not self.dry_run
            count = f"at least {result.affected}" if lost else str(result.affected)
            if lost:
                rest = "the reply to the last batch was lost, so that batch may have been applied too"
            else:
                rest = "nothing else was changed"
            raise CleanupInterrupted(
                f"{what} mid-run ({exc}) after {count} keys matching "
                f"{self.pattern.decode('utf-8', 'backslashreplace')!r} were {verb}"
                f"{' (check mode: none were)' if self.dry_run else ''}; {rest}. "
                "The run is safe to repeat: rerun it to finish once the cause is fixed.",
                result,
            ) from None
        result.duration_seconds = round(time.monotonic() - started, 3)
        return result


# -------------------------------------------------------------------------- redis_memory_info
MEMORY_FIELDS = [
    "used_memory",
    "used_memory_human",
    "used_memory_rss",
    "used_memory_peak",
    "used_memory_peak_human",
    "maxmemory",
    "maxmemory_human",
    "maxmemory_policy",
    "mem_fragmentation_ratio",
]
STATS_FIELDS = ["evicted_keys", "expired_keys"]


def memory_essentials(client: Any) -> dict[str, Any]:
    """INFO memory + eviction/expiry counters, memory_pct and keys per database."""
    memory = client.info("memory")
    stats = client.info("stats")
    keyspace = client.info("keyspace")
    essentials = {name: memory.get(name) for name in MEMORY_FIELDS}
    essentials.update({name: stats.get(name) for name in STATS_FIELDS})
    used = int(memory.get("used_memory") or 0)
    maxmemory = int(memory.get("maxmemory") or 0)
    memory_pct = round(100.0 * used / maxmemory, 2) if maxmemory else None
    keys_per_db = {}
    for name, value in sorted(keyspace.items()):
        if str(name).startswith("db") and isinstance(value, dict):
            keys_per_db[str(name)] = {k: value.get(k) for k in ("keys", "expires", "avg_ttl")}
    return {"memory": essentials, "memory_pct": memory_pct, "keys_per_db": keys_per_db}


def key_prefix(name: bytes, delimiter: bytes, depth: int) -> bytes:
    """The first `depth` delimiter-separated parts of a key name, never the whole name (its last part is the id)."""
    parts = name.split(delimiter)
    return delimiter.join(parts[: min(depth, len(parts) - 1)])


def glob_escape(text: str) -> str:
    """Escape SCAN MATCH specials so the text matches literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# ARGV: cursor, match ('' = all), scan_count, delimiter, depth, limit (-1 = none), threshold (-1 = none),
# top_keys, max_scans. Returns {cursor, examined, stopped, n_prefixes, (prefix, keys, bytes, with_ttl)*n,
# (name, bytes)* of the chunk's biggest keys above threshold}.
MEMORY_LUA = """
local cursor = ARGV[1]
local match = ARGV[2]
local count = tonumber(ARGV[3])
local delim = ARGV[4]
local depth = tonumber(ARGV[5])
local limit = tonumber(ARGV[6])
local threshold = tonumber(ARGV[7])
local top = tonumber(ARGV[8])
local max_scans = tonumber(ARGV[9])
local examined, stopped, scans = 0, 0, 0
local prefixes, order, big = {}, {}, {}
local function prefix_of(k)
  local pos, cut = 0, nil
  for d = 1, depth do
    local s = string.find(k, delim, pos + 1, true)
    if not s then break end
    cut = s - 1
    pos = s + #delim - 1
  end
  if cut == nil then return '' end
  return string.sub(k, 1, cut)
end
repeat
  local res
  if match == '' then
    res = redis.call('SCAN', cursor, 'COUNT', count)
  else
    res = redis.call('SCAN', cursor, 'MATCH', match, 'COUNT', count)
  end
  cursor = res[1]
  scans = scans + 1
  local keys = res[2]
  for i = 1, #keys do
    if limit >= 0 and examined >= limit then
      stopped = 1
      break
    end
    local k = keys[i]
    local size = redis.call('MEMORY', 'USAGE', k)
    if size then
      examined = examined + 1
      local p = prefix_of(k)
      local agg = prefixes[p]
      if not agg then
        agg = {0, 0, 0}
        prefixes[p] = agg
        order[#order + 1] = p
      end
      agg[1] = agg[1] + 1
      agg[2] = agg[2] + size
      if redis.call('PTTL', k) >= 0 then agg[3] = agg[3] + 1 end
      if size > threshold then big[#big + 1] = {k, size} end
    end
  end
until cursor == '0' or stopped == 1 or scans >= max_scans
local out = {cursor, examined, stopped, #order}
for i = 1, #order do
  local agg = prefixes[order[i]]
  out[#out + 1] = order[i]
  out[#out + 1] = agg[1]
  out[#out + 1] = agg[2]
  out[#out + 1] = agg[3]
end
table.sort(big, function(a, b) return a[2] > b[2] end)
for i = 1, math.min(top, #big) do
  out[#out + 1] = big[i][1]
  out[#out + 1] = big[i][2]
end
return out
"""


@dataclass
class PrefixStats:
    keys: int = 0
    bytes: int = 0
    with_ttl: int = 0


class MemoryReport:
    """One SCAN pass measuring every key with MEMORY USAGE and PTTL: biggest keys and memory per prefix.

    Normally bounded server-side Lua chunks aggregate per prefix on the server (measured 3x faster than
    redis-cli --memkeys, 6x faster than pipelines). When scripts are refused, the client-side fallback
    sends the next SCAN together with MEMORY USAGE/PTTL for the names the previous SCAN returned.
    """

    def __init__(
        self,
        client: Any,
        top_keys: int = 10,
        top_prefixes: int = 20,
        prefix_delimiter: str = ":",
        prefix_depth: int = 2,
        sample_size: int | None = None,
        time_budget_seconds: float = 60.0,
        scan_count: int = 1000,
        match: str | None = None,
    ) -> None:
        self.client = client
        self.top_keys = top_keys
        self.top_prefixes = top_prefixes
        self.delimiter = prefix_delimiter.encode("utf-8")
        self.depth = prefix_depth
        self.sample_size = sample_size
        self.time_budget = time_budget_seconds
        self.scan_count = scan_count
        self.match = match
        self.prefixes: dict[bytes, PrefixStats] = {}
        self.biggest: list[tuple[int, bytes]] = []
        self.scanned = 0
        self.total_bytes = 0

    def _account(self, names: list[bytes], usages: list[Any], ttls: list[Any]) -> None:
        for name, usage, ttl in zip(names, usages, ttls, strict=True):
            if usage is None:  # deleted or expired since SCAN returned it
                continue
            size = int(usage)
            self.scanned += 1
            self.total_bytes += size
            stats = self.prefixes.setdefault(key_prefix(name, self.delimiter, self.depth), PrefixStats())
            stats.keys += 1
            stats.bytes += size
            if isinstance(ttl, int) and ttl >= 0:
                stats.with_ttl += 1
            self._consider(size, name)

    def run(self) -> dict[str, Any]:
        """Scan (within sample_size and the time budget) and return biggest_keys, prefixes, complete."""
        started = time.monotonic()
        try:
            sha = self.client.script_load(MEMORY_LUA)
        except (NoPermissionError, ResponseError):
            complete, method = self._run_pipelined(started), "client"
        else:
            complete, method = self._run_lua(started, sha), "lua"
        summary = self._summary(complete, time.monotonic() - started)
        summary["method"] = method
        return summary

    def _run_lua(self, started: float, sha: str) -> bool:
        """Server-side chunks: each SCANs, sizes and aggregates a few thousand keys; returns complete."""
        cursor, complete = 0, True
        while True:
            limit = -1 if self.sample_size is None else self.sample_size - self.scanned
            threshold = self.biggest[0][0] if len(self.biggest) >= self.top_keys else -1
            args = [cursor, self.match or "", self.scan_count, self.delimiter, self.depth, limit, threshold]
            args += [self.top_keys, MEMORY_SCANS_PER_CHUNK]
            try:
                out = self.client.evalsha(sha, 0, *args)
            except NoScriptError:
                sha = self.client.script_load(MEMORY_LUA)
                out = self.client.evalsha(sha, 0, *args)
            cursor, examined, stopped, n_prefixes = int(out[0]), int(out[1]), bool(out[2]), int(out[3])
            self.scanned += examined
            pos = 4
            for _prefix_index in range(n_prefixes):
                name, keys, size, with_ttl = out[pos], int(out[pos + 1]), int(out[pos + 2]), int(out[pos + 3])
                pos += 4
                stats = self.prefixes.setdefault(name, PrefixStats())
                stats.keys += keys
                stats.bytes += size
                stats.with_ttl += with_ttl
                self.total_bytes += size
            for i in range(pos, len(out), 2):
                self._consider(int(out[i + 1]), out[i])
            if stopped:
                return False
            if cursor == 0:
                return complete
            if time.monotonic() - started > self.time_budget:
                return False

    def _consider(self, size: int, name: bytes) -> None:
        """Keep name among the top_keys biggest."""
        if len(self.biggest) < self.top_keys:
            heapq.heappush(self.biggest, (size, name))
        elif size > self.biggest[0][0]:
            heapq.heapreplace(self.biggest, (size, name))

    def _run_pipelined(self, started: float) -> bool:
        """Client-side fallback: SCAN plus pipelined MEMORY USAGE/PTTL, overlapped; returns complete."""
        cursor, pending, first, complete = 0, [], True, True
        while True:
            scan_next = first or cursor != 0
            pipe = self.client.pipeline(transaction=False)
            for name in pending:
                pipe.execute_command("MEMORY USAGE", name)
            for name in pending:
                pipe.pttl(name)
            if scan_next:
                pipe.scan(cursor, match=self.match, count=self.scan_count)
            replies = pipe.execute(raise_on_error=False)
            n = len(pending)
            self._account(pending, replies[:n], replies[n : 2 * n])
            if not scan_next:
                break
            first = False
            if isinstance(replies[-1], Exception):
                raise replies[-1]
            cursor, pending = replies[-1]
            cursor = int(cursor)
            if self.sample_size is not None and self.scanned + len(pending) >= self.sample_size:
                complete = cursor == 0 and self.scanned + len(pending) == self.sample_size
                pending, cursor = pending[: max(0, self.sample_size - self.scanned)], 0
            elif time.monotonic() - started > self.time_budget:
                complete, pending, cursor = False, [], 0
        return complete

    def _summary(self, complete: bool, duration: float) -> dict[str, Any]:
        biggest = sorted(self.biggest, reverse=True)
        pipe = self.client.pipeline(transaction=False)
        for _size, name in biggest:
            pipe.type(name)
            pipe.ttl(name)
        details = pipe.execute(raise_on_error=False) if biggest else []
        biggest_keys = []
        for i, (size, name) in enumerate(biggest):
            key_type, ttl = details[2 * i], details[2 * i + 1]
            biggest_keys.append(
                {
                    "name": display_name(name),
                    "type": display_name(key_type) if isinstance(key_type, (bytes, str)) else None,
                    "bytes": size,
                    "ttl": ttl if isinstance(ttl, int) else None,
                }
            )
        ranked = sorted(self.prefixes.items(), key=lambda item: item[1].bytes, reverse=True)[: self.top_prefixes]
        prefixes = []
        for prefix, stats in ranked:
            text = display_name(prefix)
            prefixes.append(
                {
                    "prefix": text,
                    "pattern": glob_escape(text) + display_name(self.delimiter) + "*" if text else None,
                    "key_count": stats.keys,
                    "bytes": stats.bytes,
                    "share_of_bytes": round(stats.bytes / self.total_bytes, 4) if self.total_bytes else 0.0,
                    "ttl_share": round(stats.with_ttl / stats.keys, 4) if stats.keys else 0.0,
                }
            )
        return {
            "biggest_keys": biggest_keys,
            "prefixes": prefixes,
            "scanned": self.scanned,
            "scanned_bytes": self.total_bytes,
            "complete": complete,
            "scan_duration_seconds": round(duration, 3),
        }


def memory_report(client: Any, sample_size: int | None, **scan_options: Any) -> dict[str, Any]:
    """INFO essentials plus the key scan (skipped when sample_size is 0), Redis errors as RedisModuleError."""
    with redis_errors(
        "reading memory information", "Redis refused a command needed for the memory report (INFO, SCAN, MEMORY USAGE)"
    ):
        result = memory_essentials(client)
        if sample_size == 0:
            keys: dict[str, Any] = dict(biggest_keys=[], prefixes=[], scanned=0, scanned_bytes=0, complete=False)
            keys.update(scan_duration_seconds=0.0, method="none")
        else:
            keys = MemoryReport(client, sample_size=sample_size, **scan_options).run()
    result.update(keys)
    return result


# ----------------------------------------------------------------------------- redis_key_info
# What counts a key's elements, per type; a string's "length" is its size in bytes (STRLEN).
LENGTH_COMMANDS = {
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
    "string": "STRLEN",
}


def describe_keys(client: Any, names: list[str]) -> list[dict[str, Any]]:
    """Type, element count and TTL of each named key in two pipelined round trips; values are never read.

    A key that does not exist has length 0 (what LLEN answers for an empty queue) and ttl None.
    """
    with redis_errors("reading keys", "Redis refused a command needed to describe keys (TYPE, TTL, LLEN...)"):
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.type(name)
            pipe.ttl(name)
        replies = pipe.execute()
        types = [display_name(replies[2 * i]) for i in range(len(names))]
        counted = [
            (name, LENGTH_COMMANDS[kind]) for name, kind in zip(names, types, strict=True) if kind in LENGTH_COMMANDS
        ]
        pipe = client.pipeline(transaction=False)
        for name, command in counted:
            pipe.execute_command(command, name)
        # A key replaced by another type between the two round trips answers WRONGTYPE: its length is unknown.
        lengths = dict(zip([name for name, _command in counted], pipe.execute(raise_on_error=False), strict=True))
    described = []
    for i, name in enumerate(names):
        kind, ttl = types[i], replies[2 * i + 1]
        exists = kind != "none"
        length = lengths.get(name, 0)
        described.append(
            {
                "name": name,
                "exists": exists,
                "type": kind if exists else None,
                "length": length if isinstance(length, int) else None,
                "ttl": ttl if exists and isinstance(ttl, int) and ttl != -2 else None,
            }
        )
    return described


# ---------------------------------------------------------------------------------- redis_flag
def set_flag(client: Any, key: str, value: str, ttl: int | None, dry_run: bool) -> dict[str, Any]:
    """Set key to value (with a TTL in seconds) only when it does not exist: one atomic SET NX EX.

    An existing key is left alone - neither overwritten nor given a new TTL - so running this again does not
    prolong what the first run started. dry_run only reads.
    """
    with redis_errors(f"setting {key!r}", f"Redis refused to set {key!r} (SET NX EX)"):
        created = not client.exists(key) if dry_run else bool(client.set(key, value, nx=True, ex=ttl))
        pipe = client.pipeline(transaction=False)
        pipe.type(key)
        pipe.get(key)
        pipe.ttl(key)
        kind, current, remaining = pipe.execute(raise_on_error=False)
    if dry_run and created:
        return {"changed": True, "existed": False, "value_matches": True, "ttl": ttl if ttl else -1}
    matches = display_name(kind) == "string" and isinstance(current, bytes) and current == value.encode("utf-8")
    return {
        "changed": created,
        "existed": not created,
        "value_matches": matches,
        "ttl": remaining if isinstance(remaining, int) and remaining != -2 else None,
    }


def remove_flag(client: Any, key: str, dry_run: bool) -> dict[str, Any]:
    """Delete key (whatever its type); dry_run only says whether it exists."""
    with redis_errors(f"removing {key!r}", f"Redis refused to remove {key!r}"):
        existed = bool(client.exists(key)) if dry_run else bool(client.delete(key))
    return {"changed": existed, "existed": existed, "value_matches": None, "ttl": None}
