#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_key_info
short_description: Type, length and TTL of named Redis keys (queue depth, flags), never their values
version_added: 0.1.0
description:
  - For each key in O(keys), returns whether it exists, its type, its length and its TTL, in two pipelined
    round trips - the structured C(redis-cli LLEN "batch:meta:pending") of the runbooks.
  - The length is C(LLEN) for a list, C(SCARD) for a set, C(ZCARD) for a sorted set, C(HLEN) for a hash,
    C(XLEN) for a stream and C(STRLEN) (bytes) for a string. A key that does not exist has length 0, as
    C(LLEN) answers for an empty queue.
  - Values are never read, so the result is safe to log whatever the keys hold.
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.redis
options:
  keys:
    description:
      - Exact key names (no glob); the result lists them in this order.
    type: list
    elements: str
    required: true
notes:
  - Redis Cluster is not supported; against a cluster node the module fails and says so.
seealso:
  - module: stratum.ops.redis_memory_info
  - module: stratum.ops.redis_flag
"""

EXAMPLES = r"""
- name: Depth of the Meta batch queue
  stratum.ops.redis_key_info:
    url: "{{ lookup('ansible.builtin.env', 'REDIS_URL') }}"
    keys: ["batch:meta:pending"]
  register: batch_queue

- name: Show it
  ansible.builtin.debug:
    msg: "{{ batch_queue.key_info[0].length }} batches pending"
"""

RETURN = r"""
key_info:
  description: One entry per name in O(keys), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The key name.
      type: str
    exists:
      description: Whether the key exists.
      type: bool
    type:
      description:
        - Redis type (V(string), V(list), V(set), V(zset), V(hash), V(stream)); null when the key does not exist.
      type: str
    length:
      description:
        - Elements of a collection, bytes of a string, 0 for a key that does not exist.
        - Null for a type it cannot count (or a key that changed type while being read).
      type: int
    ttl:
      description: Seconds to live, -1 without a TTL, null when the key does not exist.
      type: int
  sample: [{"name": "batch:meta:pending", "exists": true, "type": "list", "length": 1523, "ttl": -1}]
db:
  description: Database the keys were read from.
  returned: always
  type: int
  sample: 0
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    RedisModuleError,
    connect_standalone,
    connection_kwargs,
    describe_keys,
    redis_checks,
    redis_common_argument_spec,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = redis_common_argument_spec()
    argument_spec.update(keys=dict(type="list", elements="str", required=True, no_log=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
    validate_module(module, redis_checks(module.params))
    names = module.params["keys"]
    if not names or any(not name for name in names):
        module.fail_json(msg=f"keys must be a non-empty list of key names, got {names!r}")
    try:
        client = connect_standalone(module)
        described = describe_keys(client, names)
    except RedisModuleError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"reading Redis keys failed: {exc}", exception=traceback.format_exc())
    module.exit_json(changed=False, key_info=described, db=connection_kwargs(module.params).get("db", 0))


if __name__ == "__main__":
    main()
