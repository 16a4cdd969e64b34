#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: runbook_lock
short_description: Take or release the lock of a changing runbook run (one remediation at a time)
version_added: 1.1.0
description:
  - One lock per O(environment) and O(runbook), held for a changing run. In Redis when O(backend=redis)
    (C(SET NX EX) with the holder record as value; Redis expires a stale lock by itself), else a lock file in
    O(lock_dir) created with O_EXCL whose record says when it goes stale.
  - With O(state=acquired), a lock held by another live run fails at once with the message
    C(locked by <who> since <when> for <runbook>); a lock already held by this run (same O(run_id)) is kept;
    a stale lock is taken over.
    O(break_lock=true) takes the lock from a live holder and returns it in RV(taken_from) for the audit log.
  - With O(state=released), removes the lock only when this run (O(run_id)) holds it.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
attributes:
  check_mode:
    support: full
    details: Reads the lock and reports whether it could be taken or released; writes nothing.
  diff_mode:
    support: none
options:
  environment:
    description: The environment (C(stratum_environment)).
    type: str
    required: true
  runbook:
    description: The runbook (or service) the lock is for.
    type: str
    required: true
  run_id:
    description: A value unique to this run; only the run that holds the lock releases it.
    type: str
    required: true
  owner:
    description: Who runs it (AWX user or C($USER)), shown to whoever finds the lock held.
    type: str
    default: unknown
  state:
    description: V(acquired) takes the lock, V(released) gives it back.
    type: str
    choices: [acquired, released]
    default: acquired
  ttl:
    description: Seconds after which a lock whose run died is stale.
    type: int
    default: 3600
  break_lock:
    description: Take the lock even from a live holder (the previous holder is returned for the audit line).
    type: bool
    default: false
  backend:
    description: V(redis) (needs O(redis_url)) or V(file) (needs O(lock_dir)).
    type: str
    choices: [redis, file]
    default: file
  redis_url:
    description: The environment's Redis, C(redis://host:port/db) (a password in it is never logged).
    type: str
  redis_password:
    description: Password for the Redis of O(redis_url), when the URL has none.
    type: str
  lock_dir:
    description: Directory of the lock files (created 0700 when missing).
    type: path
notes:
  - Redis Cluster is not supported.
seealso:
  - module: stratum.ops.redis_flag
"""

EXAMPLES = r"""
- name: Take the lock of this remediation
  stratum.ops.runbook_lock:
    environment: production
    runbook: incident_redis_memory
    run_id: "{{ my_run_id }}"
    owner: "{{ awx_user_name | default(lookup('ansible.builtin.env', 'USER')) }}"
    backend: redis
    redis_url: "{{ stratum_redis.url }}"

- name: Give it back
  stratum.ops.runbook_lock:
    environment: production
    runbook: incident_redis_memory
    run_id: "{{ my_run_id }}"
    state: released
    backend: redis
    redis_url: "{{ stratum_redis.url }}"
"""

RETURN = r"""
acquired:
  description: With O(state=acquired), whether this run holds the lock now (in check mode, whether it could).
  returned: always
  type: bool
  sample: true
released:
  description: With O(state=released), whether this run's lock was removed.
  returned: always
  type: bool
  sample: false
reentrant:
  description: The lock was already held by this run.
  returned: always
  type: bool
  sample: false
taken_from:
  description: The record of the holder the lock was taken from (stale or broken), else null.
  returned: always
  type: dict
  sample: {owner: alice, since: "2026-12-01T03:00:00+00:00", runbook: deploy, environment: production}
lock:
  description: Where the lock lives (Redis host:port/db and key, or the file path).
  returned: always
  type: str
  sample: "10.0.0.5:6379/0 stratum:lock:production.deploy"
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.lock import (
    FileLock,
    LockHeld,
    RedisLock,
    lock_name,
    new_record,
)
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    RedisModuleError,
    connect,
    connection_kwargs,
    describe_endpoint,
    redis_common_argument_spec,
)


def redis_params(url: str, password: str | None) -> dict:
    """The collection's Redis connection parameters for exactly this URL: no environment or localhost default."""
    params = {name: spec.get("default") for name, spec in redis_common_argument_spec().items()}
    params.update(url=url, password=password or None)
    return params


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            environment=dict(type="str", required=True),
            runbook=dict(type="str", required=True),
            run_id=dict(type="str", required=True),
            owner=dict(type="str", default="unknown"),
            state=dict(type="str", choices=["acquired", "released"], default="acquired"),
            ttl=dict(type="int", default=3600),
            break_lock=dict(type="bool", default=False),
            backend=dict(type="str", choices=["redis", "file"], default="file"),
            redis_url=dict(type="str", no_log=True),
            redis_password=dict(type="str", no_log=True),
            lock_dir=dict(type="path"),
        ),
        required_if=[("backend", "redis", ["redis_url"]), ("backend", "file", ["lock_dir"])],
        supports_check_mode=True,
    )
    p = module.params
    if p["ttl"] <= 0:
        module.fail_json(msg=f"ttl must be > 0 seconds, got {p['ttl']}")
    try:
        name = lock_name(p["environment"], p["runbook"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=False, acquired=False, released=False, reentrant=False, taken_from=None)
    try:
        if p["backend"] == "redis":
            if not HAS_REDIS:
                module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
            params = redis_params(p["redis_url"], p["redis_password"])
            kwargs = connection_kwargs(params)
            if kwargs.get("password"):
                module.no_log_values.add(kwargs["password"])
            client, _endpoint = connect(params)
            lock = RedisLock(client, name)
            result["lock"] = f"{describe_endpoint(kwargs)} {lock.key}"
        else:
            lock = FileLock(p["lock_dir"], name)
            result["lock"] = lock.path
        if p["state"] == "acquired":
            record = new_record(p["owner"], p["runbook"], p["environment"], p["run_id"], p["ttl"], now=time.time)
            if p["backend"] == "redis":
                outcome = lock.acquire(record, p["ttl"], break_lock=p["break_lock"], dry_run=module.check_mode)
            else:
                outcome = lock.acquire(record, break_lock=p["break_lock"], dry_run=module.check_mode)
            result.update(outcome)
            result["changed"] = not outcome["reentrant"]
        else:
            result["released"] = lock.release(p["run_id"], dry_run=module.check_mode)
            result["changed"] = result["released"]
    except LockHeld as exc:
        module.fail_json(msg=str(exc), held_by=exc.holder, **{k: v for k, v in result.items() if k != "changed"})
    except RedisModuleError as exc:
        module.fail_json(msg=f"cannot use the Redis lock: {exc}")
    except OSError as exc:
        module.fail_json(msg=f"cannot use the lock file {result.get('lock')}: {exc}")
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"runbook lock failed: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
