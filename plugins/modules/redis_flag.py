#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_flag
short_description: Set a Redis flag key once with a TTL (SET NX EX), or remove it
version_added: 0.1.0
description:
  - With O(state=present), sets O(key) to O(value) with a TTL of O(ttl) seconds only when the key does not exist,
    in one atomic C(SET key value NX EX ttl) - the runbooks' C(redis-cli SET "pause:low_priority_sync" "true" EX 3600),
    made idempotent.
  - An existing key is left alone, neither overwritten nor given a new TTL, so a second run reports no change and
    does not prolong what the first one started. When it holds another value, RV(value_matches) is false and the
    module warns.
  - With O(state=absent), deletes the key (to lift a pause early).
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.redis
attributes:
  check_mode:
    support: full
    details: Reads whether the key exists and reports exactly whether it would be set or removed; writes nothing.
  diff_mode:
    support: none
options:
  key:
    description:
      - The flag's key name.
    type: str
    required: true
  value:
    description:
      - Value to set with O(state=present).
    type: str
    default: "true"
  ttl:
    description:
      - Seconds until Redis removes the flag by itself (must be > 0). Unset means the flag stays until removed.
    type: int
  state:
    description:
      - V(present) sets the flag unless the key exists; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Redis Cluster is not supported; against a cluster node the module fails and says so.
seealso:
  - module: stratum.ops.redis_key_info
"""

EXAMPLES = r"""
- name: Pause low-priority syncs for an hour (no-op while a pause is running)
  stratum.ops.redis_flag:
    url: "{{ lookup('ansible.builtin.env', 'REDIS_URL') }}"
    key: pause:low_priority_sync
    value: "true"
    ttl: 3600

- name: Resume them now
  stratum.ops.redis_flag:
    url: "{{ lookup('ansible.builtin.env', 'REDIS_URL') }}"
    key: pause:low_priority_sync
    state: absent
"""

RETURN = r"""
key:
  description: The key name.
  returned: always
  type: str
  sample: pause:low_priority_sync
existed:
  description: Whether the key existed before the run.
  returned: always
  type: bool
  sample: false
value_matches:
  description:
    - With O(state=present), whether the key now holds O(value) (false when an existing key holds something else).
    - Null with O(state=absent).
  returned: always
  type: bool
  sample: true
ttl:
  description:
    - With O(state=present), seconds the flag has left (in check mode, the TTL it would get); -1 without a TTL.
    - Null with O(state=absent).
  returned: always
  type: int
  sample: 3600
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    RedisModuleError,
    connect_standalone,
    redis_checks,
    redis_common_argument_spec,
    remove_flag,
    set_flag,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module


def main() -> None:
    argument_spec = redis_common_argument_spec()
    argument_spec.update(
        key=dict(type="str", required=True, no_log=False),
        value=dict(type="str", default="true"),
        ttl=dict(type="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
    p = module.params
    validate_module(module, redis_checks(p), [(check_number, "ttl", p["ttl"], None, 2**31 - 1)])
    if not p["key"]:
        module.fail_json(msg="key must not be empty")
    if p["ttl"] is not None and p["ttl"] <= 0:
        module.fail_json(msg=f"ttl must be > 0 seconds, got {p['ttl']}; leave it unset for a flag without expiry")
    try:
        client = connect_standalone(module)
        if p["state"] == "present":
            result = set_flag(client, p["key"], p["value"], p["ttl"], dry_run=module.check_mode)
        else:
            result = remove_flag(client, p["key"], dry_run=module.check_mode)
    except RedisModuleError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"setting Redis flag {p['key']!r} failed: {exc}", exception=traceback.format_exc())
    if p["state"] == "present" and result["existed"] and not result["value_matches"]:
        module.warn(f"{p['key']} already exists with another value; left as it is (the flag is only set when absent)")
    module.exit_json(key=p["key"], **result)


if __name__ == "__main__":
    main()
