#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_memory_info
short_description: Where Redis memory goes - INFO memory, biggest keys and memory per key prefix
version_added: 0.1.0
description:
  - Reads the C(INFO memory) essentials, eviction and expiry counters, memory use against C(maxmemory) and the
    key count of every database.
  - Then, in one C(SCAN) pass over the database of the connection (or O(sample_size) keys of it, within
    O(time_budget_seconds)), measures every key with C(MEMORY USAGE) and C(PTTL) and returns the biggest keys and
    the memory per key prefix (the runbook's "find large keys" and "check key patterns").
  - The pass runs in bounded server-side Lua chunks (a few C(SCAN) calls each) that aggregate per prefix on the
    server, so names and sizes do not travel to the client; that is several times faster than
    C(redis-cli --memkeys). When the server refuses scripts it falls back to C(SCAN) with pipelined
    C(MEMORY USAGE)/C(PTTL) (slower, same result).
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.redis
options:
  match:
    description:
      - Only examine keys matching this SCAN MATCH glob. Unset means every key of the database.
    type: str
  sample_size:
    description:
      - Examine at most this many keys; RV(complete) is false when the database had more.
      - V(0) skips the key scan (INFO only). Unset means the whole database.
    type: int
  time_budget_seconds:
    description:
      - Stop scanning after this many seconds and report RV(complete=false).
    type: float
    default: 60
  top_keys:
    description:
      - How many of the biggest keys to return.
    type: int
    default: 10
  top_prefixes:
    description:
      - How many prefixes to return, biggest memory first.
    type: int
    default: 20
  prefix_delimiter:
    description:
      - Separator of the parts of a key name.
    type: str
    default: ":"
  prefix_depth:
    description:
      - Keys are grouped by their first O(prefix_depth) parts (never the last part, which is usually an id).
    type: int
    default: 2
  scan_count:
    description:
      - C(COUNT) hint of every C(SCAN) call, also the size of each pipeline.
    type: int
    default: 1000
notes:
  - Redis Cluster is not supported; against a cluster node the module fails and says so.
  - C(MEMORY USAGE) samples 5 elements of aggregate values, so RV(biggest_keys) bytes of big collections are estimates.
seealso:
  - module: stratum.ops.redis_cleanup
"""

EXAMPLES = r"""
- name: Triage Redis memory (RedisMemoryHigh)
  stratum.ops.redis_memory_info:
    url: "{{ lookup('ansible.builtin.env', 'REDIS_URL') }}"
  register: redis_memory

- name: Quick look at a big keyspace - 200k keys or 10 seconds, whichever comes first
  stratum.ops.redis_memory_info:
    host: redis.internal
    password: "{{ redis_password }}"
    sample_size: 200000
    time_budget_seconds: 10

- name: Show the namespace using the most memory
  ansible.builtin.debug:
    msg: "{{ redis_memory.prefixes[0].pattern }} uses {{ redis_memory.prefixes[0].bytes }} bytes"
"""

RETURN = r"""
memory:
  description: INFO memory essentials and the eviction/expiry counters of INFO stats.
  returned: always
  type: dict
  contains:
    used_memory:
      description: Bytes allocated by Redis.
      type: int
    used_memory_human:
      description: RV(memory.used_memory) for people.
      type: str
    used_memory_rss:
      description: Bytes the operating system sees.
      type: int
    used_memory_peak:
      description: Peak of RV(memory.used_memory).
      type: int
    used_memory_peak_human:
      description: RV(memory.used_memory_peak) for people.
      type: str
    maxmemory:
      description: Configured limit, 0 for none.
      type: int
    maxmemory_human:
      description: RV(memory.maxmemory) for people.
      type: str
    maxmemory_policy:
      description: Eviction policy.
      type: str
    mem_fragmentation_ratio:
      description: RSS / used memory.
      type: float
    evicted_keys:
      description: Keys evicted since the server started.
      type: int
    expired_keys:
      description: Keys expired since the server started.
      type: int
  sample:
    used_memory: 1073741824
    maxmemory: 2147483648
    maxmemory_policy: allkeys-lru
memory_pct:
  description: used_memory as a percentage of maxmemory; null when maxmemory is 0 (no limit).
  returned: always
  type: float
  sample: 83.4
keys_per_db:
  description: Keys, keys with a TTL and average TTL (ms) per database, from INFO keyspace.
  returned: always
  type: dict
  sample: {"db0": {"keys": 2000000, "expires": 1000, "avg_ttl": 3599000}}
db:
  description: Database the key scan ran in.
  returned: always
  type: int
  sample: 0
biggest_keys:
  description: The O(top_keys) biggest keys examined, biggest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Key name; bytes that are not UTF-8 are shown as backslash escapes.
      type: str
    type:
      description: Redis type (null if the key vanished meanwhile).
      type: str
    bytes:
      description: C(MEMORY USAGE) of the key.
      type: int
    ttl:
      description: Seconds to live, -1 without TTL, -2 if gone meanwhile.
      type: int
  sample: [{"name": "feed:global", "type": "zset", "bytes": 48234496, "ttl": -1}]
prefixes:
  description: Memory per key prefix, biggest first (at most O(top_prefixes)).
  returned: always
  type: list
  elements: dict
  contains:
    prefix:
      description: The first O(prefix_depth) parts of the names; empty for names without the delimiter.
      type: str
    pattern:
      description: A glob matching the prefix's keys, ready for M(stratum.ops.redis_cleanup); null for the empty prefix.
      type: str
    key_count:
      description: Keys examined with this prefix.
      type: int
    bytes:
      description: Their total C(MEMORY USAGE).
      type: int
    share_of_bytes:
      description: Fraction of all bytes examined.
      type: float
    ttl_share:
      description: Fraction of these keys that have a TTL.
      type: float
  sample: [{"prefix": "cache:analytics", "pattern": "cache:analytics:*", "key_count": 1000000, "bytes": 72000000,
            "share_of_bytes": 0.5, "ttl_share": 0.0}]
scanned:
  description: Keys examined.
  returned: always
  type: int
  sample: 2000000
scanned_bytes:
  description: Total C(MEMORY USAGE) of the keys examined.
  returned: always
  type: int
  sample: 144000000
complete:
  description: False when O(sample_size) or O(time_budget_seconds) cut the scan short (or it was skipped).
  returned: always
  type: bool
  sample: true
scan_duration_seconds:
  description: Seconds the key scan took.
  returned: always
  type: float
  sample: 6.1
method:
  description: V(lua) for server-side chunks, V(client) when the server refused scripts, V(none) without a scan.
  returned: always
  type: str
  sample: lua
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    RedisModuleError,
    connect_standalone,
    connection_kwargs,
    memory_report,
    redis_checks,
    redis_common_argument_spec,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, check_timeout, validate_module


def main() -> None:
    argument_spec = redis_common_argument_spec()
    argument_spec.update(
        match=dict(type="str"),
        sample_size=dict(type="int"),
        time_budget_seconds=dict(type="float", default=60),
        top_keys=dict(type="int", default=10, no_log=False),
        top_prefixes=dict(type="int", default=20),
        prefix_delimiter=dict(type="str", default=":"),
        prefix_depth=dict(type="int", default=2),
        scan_count=dict(type="int", default=1000),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
    p = module.params
    validate_module(
        module,
        redis_checks(p),
        [
            (check_timeout, "time_budget_seconds", p["time_budget_seconds"], 86400),
            (check_number, "sample_size", p["sample_size"], None, 10**9),
            (check_number, "top_keys", p["top_keys"], None, 10000),
            (check_number, "top_prefixes", p["top_prefixes"], None, 10000),
            (check_number, "prefix_depth", p["prefix_depth"], None, 1000),
            (check_number, "scan_count", p["scan_count"], None, 1000000),
        ],
    )
    problems = []
    if p["sample_size"] is not None and p["sample_size"] < 0:
        problems.append(f"sample_size must be >= 0, got {p['sample_size']}")
    for option in ("time_budget_seconds", "top_keys", "prefix_depth", "scan_count"):
        if p[option] <= 0:
            problems.append(f"{option} must be > 0, got {p[option]}")
    if p["top_prefixes"] < 0:
        problems.append(f"top_prefixes must be >= 0, got {p['top_prefixes']}")
    if not p["prefix_delimiter"]:
        problems.append("prefix_delimiter must not be empty")
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        client = connect_standalone(module)
        result = memory_report(
            client,
            p["sample_size"],
            top_keys=p["top_keys"],
            top_prefixes=p["top_prefixes"],
            prefix_delimiter=p["prefix_delimiter"],
            prefix_depth=p["prefix_depth"],
            time_budget_seconds=p["time_budget_seconds"],
            scan_count=p["scan_count"],
            match=p["match"],
        )
    except RedisModuleError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"reading Redis memory information failed: {exc}", exception=traceback.format_exc())
    result["db"] = connection_kwargs(p).get("db", 0)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
