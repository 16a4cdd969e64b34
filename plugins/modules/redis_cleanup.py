#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_cleanup
short_description: Delete or expire a Redis key namespace without blocking the server
version_added: 0.1.0
description:
  - Removes (C(UNLINK)/C(DEL)) or sets a TTL on every key whose name matches a SCAN MATCH glob, the safe
    replacement for C(redis-cli KEYS "ns:*" | xargs redis-cli DEL), which blocks Redis for the whole C(KEYS).
  - Works in bounded server-side Lua chunks; each chunk runs a few C(SCAN) calls (at most 10, and stops once
    O(batch_size) keys matched) and acts on the names they returned, so names never travel to the client and
    no call blocks Redis for much longer than a C(SCAN). When the server refuses scripts (an ACL user without
    C(@scripting), a managed Redis), the same steps run client-side with pipelines (slower, same result).
  - A key whose name does not match O(pattern) is never touched. Every matching key that exists for the whole
    run is handled; keys created while it runs may or may not be.
  - The run is idempotent and safe to repeat after an interruption.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.redis
attributes:
  check_mode:
    support: full
    details: Scans and reports exactly how many keys would be affected, with a sample; writes nothing.
  diff_mode:
    support: none
options:
  pattern:
    description:
      - SCAN MATCH glob of the key names to clean up, for example V(cache:analytics:*).
      - C(*), C(?) and C([...]) are wildcards; a backslash makes the next character literal.
    type: str
    required: true
  action:
    description:
      - V(unlink) removes the keys and frees their memory in a background thread (C(DEL) on servers
        without C(UNLINK)).
      - V(delete) removes them with C(DEL), freeing memory synchronously.
      - V(expire) sets a TTL of O(ttl) seconds on matching keys that have no TTL or a longer one; keys with a
        shorter TTL are left alone.
    type: str
    choices: [unlink, delete, expire]
    default: unlink
  ttl:
    description:
      - TTL in seconds for O(action=expire); required with it and must be > 0. Not allowed with other actions.
    type: int
  key_type:
    description:
      - Only handle keys of this type.
    type: str
    choices: [string, list, set, zset, hash, stream]
  scan_count:
    description:
      - C(COUNT) hint of every C(SCAN) call.
    type: int
    default: 1000
  batch_size:
    description:
      - Most keys one chunk handles before returning to the client (and most names per C(UNLINK)/C(DEL) command).
    type: int
    default: 1000
  max_keys:
    description:
      - Stop after this many keys were deleted or expired and report RV(truncated). Unset means no limit.
    type: int
  pause_ms:
    description:
      - Milliseconds to sleep between chunks, to leave even more room to other clients.
    type: int
    default: 0
  allow_broad_pattern:
    description:
      - Allow patterns that can match every key (V(*), V(**), V(?*)) or lack a literal prefix of at least
        3 characters. Without it such patterns are refused with the reason.
    type: bool
    default: false
notes:
  - Redis Cluster is not supported (see the connection notes); Redis 6+ standalone servers are, with ACL users and TLS.
  - RV(matched) and check mode counts can count a key twice when the keyspace is resized during the scan
    (a property of C(SCAN)); RV(deleted) counts what Redis actually removed.
seealso:
  - module: stratum.ops.redis_memory_info
"""

EXAMPLES = r"""
- name: Drop the analytics cache namespace (runbook "Redis Memory Pressure")
  stratum.ops.redis_cleanup:
    url: "{{ lookup('ansible.builtin.env', 'REDIS_URL') }}"
    pattern: "cache:analytics:*"

- name: See how many keys a cleanup would remove, and which
  stratum.ops.redis_cleanup:
    host: redis.internal
    password: "{{ redis_password }}"
    pattern: "session:legacy:*"
  check_mode: true
  register: would_delete

- name: Give high-volume keys a one-hour TTL instead of deleting them
  stratum.ops.redis_cleanup:
    pattern: "cache:feed:*"
    action: expire
    ttl: 3600

- name: Delete at most 100k hashes, pausing between chunks
  stratum.ops.redis_cleanup:
    pattern: "tmp:import:*"
    key_type: hash
    max_keys: 100000
    pause_ms: 5
"""

RETURN = r"""
matched:
  description: Keys whose name matched O(pattern) (and whose type matched O(key_type)) that the run examined.
  returned: always
  type: int
  sample: 1000000
deleted:
  description: Keys removed (in check mode, keys that would be removed).
  returned: when O(action) is V(unlink) or V(delete)
  type: int
  sample: 1000000
expired:
  description: Keys given the TTL (in check mode, keys that would be); keys with a shorter TTL are not counted.
  returned: when O(action=expire)
  type: int
  sample: 1200
sample:
  description:
    - Up to 10 names of affected keys. Bytes that are not UTF-8 are shown as backslash escapes (C(\\xff)).
  returned: always
  type: list
  elements: str
  sample: ["cache:analytics:42", "cache:analytics:43"]
scanned:
  description: Key names SCAN returned for O(pattern), before the O(key_type) filter.
  returned: always
  type: int
  sample: 1000000
duration_seconds:
  description: Seconds the scan and cleanup took, measured by the module.
  returned: always
  type: float
  sample: 4.2
keys_per_second:
  description: Keys deleted or expired per second of RV(duration_seconds).
  returned: always
  type: float
  sample: 238095.2
truncated:
  description: True when O(max_keys) stopped the run before the scan finished; matching keys may remain.
  returned: always
  type: bool
  sample: false
method:
  description: V(lua) for server-side chunks, V(client) when the server refused scripts.
  returned: always
  type: str
  sample: lua
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    KEY_TYPES,
    REDIS_IMPORT_ERROR,
    CleanupInterrupted,
    NamespaceCleanup,
    RedisModuleError,
    connect_standalone,
    redis_checks,
    redis_common_argument_spec,
    validate_cleanup_options,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import MAX_INT, check_number, validate_module


def main() -> None:
    argument_spec = redis_common_argument_spec()
    argument_spec.update(
        pattern=dict(type="str", required=True),
        action=dict(type="str", default="unlink", choices=["unlink", "delete", "expire"]),
        ttl=dict(type="int"),
        key_type=dict(type="str", choices=KEY_TYPES),
        scan_count=dict(type="int", default=1000),
        batch_size=dict(type="int", default=1000),
        max_keys=dict(type="int", no_log=False),
        pause_ms=dict(type="int", default=0),
        allow_broad_pattern=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
    p = module.params
    validate_module(
        module,
        redis_checks(p),
        [
            (check_number, "ttl", p["ttl"], None, 2**31 - 1),
            (check_number, "scan_count", p["scan_count"], None, 1000000),
            (check_number, "batch_size", p["batch_size"], None, 1000000),
            (check_number, "max_keys", p["max_keys"], None, MAX_INT),
            (check_number, "pause_ms", p["pause_ms"], None, 60000, False, "milliseconds"),
        ],
    )
    verb = "expired" if p["action"] == "expire" else "deleted"
    try:
        validate_cleanup_options(
            p["pattern"],
            p["action"],
            p["ttl"],
            p["batch_size"],
            p["scan_count"],
            p["max_keys"],
            p["pause_ms"],
            p["allow_broad_pattern"],
        )
        client = connect_standalone(module)
        cleanup = NamespaceCleanup(
            client,
            p["pattern"],
            action=p["action"],
            ttl=p["ttl"],
            key_type=p["key_type"],
            scan_count=p["scan_count"],
            batch_size=p["batch_size"],
            max_keys=p["max_keys"],
            pause_ms=p["pause_ms"],
            dry_run=module.check_mode,
        )
        result = cleanup.run()
    except CleanupInterrupted as exc:
        module.fail_json(msg=str(exc), matched=exc.partial.matched, **{verb: exc.partial.affected})
    except RedisModuleError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"Redis cleanup failed unexpectedly: {exc}", exception=traceback.format_exc())
    module.exit_json(
        changed=result.affected > 0,
        matched=result.matched,
        sample=[name.decode("utf-8", "backslashreplace") for name in result.sample],
        scanned=result.scanned,
        duration_seconds=result.duration_seconds,
        keys_per_second=result.keys_per_second,
        truncated=result.truncated,
        method=result.method,
        **{verb: result.affected},
    )


if __name__ == "__main__":
    main()
