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
  - One lock per O(environment) and scope, held for a changing run. The scope is each service the run changes
    (O(scope), e.g. V([api, workers]) for a deploy), else the O(runbook) itself. In Redis when O(backend=redis)
    (C(SET NX EX) with the holder record as value; Redis expires a stale lock by itself), else a lock file per scope
    in O(lock_dir) (written under an C(flock) of the directory's guard file) whose record says when it goes stale.
  - With O(state=acquired), a lock held by another live run fails at once with the message
    C(locked by <who> since <when> for <runbook>) and takes nothing; a lock already held by this run (same O(run_id))
    is kept; a stale lock is taken over. A lock is stale when its O(ttl) has passed, or when the record names this
    host and an C(ansible-playbook) process that is gone (a run killed on the same controller).
    O(break_lock=true) takes the lock from a live holder. RV(taken_from) names whom a lock was taken from, for the
    audit line.
  - All scopes or none; when one is held, the ones taken for this run are given back before failing.
  - With O(state=released), removes the locks only when this run (O(run_id)) holds them.
  - A Redis that cannot be used (unreachable, read-only, out of memory) fails with RV(backend_error=true), so the
    caller can fall back to a lock file.
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
    description: The runbook taking the lock; named to whoever finds it held, and the scope when O(scope) is empty.
    type: str
    required: true
  scope:
    description:
      - What the run changes in the environment, one lock each (e.g. the services V(api), V(workers), or V(database)).
        Empty - one lock for O(runbook).
    type: list
    elements: str
    default: []
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
  - The holder record holds the owner, runbook, environment, scope, run id, host, ansible-playbook pid, since and
    expiry; never a secret.
seealso:
  - module: stratum.ops.redis_flag
"""

EXAMPLES = r"""
- name: Take the locks of the services this deploy changes
  stratum.ops.runbook_lock:
    environment: production
    runbook: deploy
    scope: [api, workers]
    run_id: "{{ my_run_id }}"
    owner: "{{ awx_user_name | default(lookup('ansible.builtin.env', 'USER')) }}"
    backend: redis
    redis_url: "{{ stratum_redis.url }}"

- name: Give them back
  stratum.ops.runbook_lock:
    environment: production
    runbook: deploy
    scope: [api, workers]
    run_id: "{{ my_run_id }}"
    state: released
    backend: redis
    redis_url: "{{ stratum_redis.url }}"

- name: One lock for the runbook, in a file on the controller
  stratum.ops.runbook_lock:
    environment: local
    runbook: incident_redis_memory
    run_id: "{{ my_run_id }}"
    lock_dir: /var/lib/stratum/locks
  delegate_to: localhost
"""

RETURN = r"""
acquired:
  description: With O(state=acquired), whether this run holds the locks now (in check mode, whether it could).
  returned: always
  type: bool
  sample: true
released:
  description: With O(state=released), whether a lock of this run was removed.
  returned: always
  type: bool
  sample: false
reentrant:
  description: The locks were already held by this run.
  returned: always
  type: bool
  sample: false
taken_from:
  description:
    - The records of the holders locks were taken from, each with C(because) (V(expired), V(its run is gone) or
      V(broken)); empty when none was.
  returned: always
  type: list
  elements: dict
  sample: [{owner: alice, since: "2026-12-01T03:00:00+00:00", runbook: deploy, environment: production,
            because: broken}]
held_by:
  description: The record of the run holding the lock, when it is refused.
  returned: when refused
  type: dict
scope:
  description: The scopes locked (the services, else the runbook).
  returned: always
  type: list
  elements: str
  sample: [api, workers]
lock:
  description: Where the locks live (Redis host:port/db and keys, or the file paths).
  returned: always
  type: str
  sample: "10.0.0.5:6379/0 stratum:lock:production.api stratum:lock:production.workers"
backend:
  description: The backend used, V(redis) or V(file).
  returned: always
  type: str
backend_error:
  description: The backend could not be used (Redis unreachable, read-only or out of memory, lock directory unwritable).
  returned: always
  type: bool
"""

import socket
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.lock import (
    FileLock,
    LockHeld,
    RedisLock,
    acquire_all,
    lock_name,
    lock_scopes,
    new_record,
    playbook_pid,
    release_all,
)
from ansible_collections.stratum.ops.plugins.module_utils.redis import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    RedisConnectionError,
    RedisModuleError,
    RedisTimeoutError,
    ResponseError,
    connect,
    connection_kwargs,
    describe_endpoint,
    redis_common_argument_spec,
)


def redis_params(url: str, password: str | None) -> dict:
    """The collection's Redis connection parameters for exactly this URL: no environment or localhost default."""
    params = {name: spec.get("default") for name, spec in redis_common_argument_spec().items()}
    params.update(url=url, password=password or None, connect_timeout=5, command_timeout=10)
    return params


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            environment=dict(type="str", required=True),
            runbook=dict(type="str", required=True),
            scope=dict(type="list", elements="str", default=[]),
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
    scopes = lock_scopes(p["runbook"], p["scope"])
    try:
        names = [lock_name(p["environment"], scope) for scope in scopes]
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    host = socket.gethostname()
    result = dict(
        changed=False,
        acquired=False,
        released=False,
        reentrant=False,
        taken_from=[],
        scope=scopes,
        backend=p["backend"],
        backend_error=False,
    )
    try:
        if p["backend"] == "redis":
            if not HAS_REDIS:
                module.fail_json(msg=missing_required_lib("redis"), exception=str(REDIS_IMPORT_ERROR))
            params = redis_params(p["redis_url"], p["redis_password"])
            kwargs = connection_kwargs(params)
            if kwargs.get("password"):
                module.no_log_values.add(kwargs["password"])
            client, _endpoint = connect(params)
            locks = [RedisLock(client, name, host=host, scope=scope) for name, scope in zip(names, scopes, strict=True)]
            result["lock"] = " ".join([describe_endpoint(kwargs)] + [lock.key for lock in locks])
        else:
            locks = [
                FileLock(p["lock_dir"], name, host=host, scope=scope) for name, scope in zip(names, scopes, strict=True)
            ]
            result["lock"] = " ".join(lock.path for lock in locks)
        if p["state"] == "acquired":
            record = new_record(
                p["owner"],
                p["runbook"],
                p["environment"],
                p["run_id"],
                p["ttl"],
                now=time.time,
                host=host,
                pid=playbook_pid(),
                scope=scopes,
            )
            outcome = acquire_all(locks, record, p["ttl"], break_lock=p["break_lock"], dry_run=module.check_mode)
            result.update(outcome)
            result["changed"] = not outcome["reentrant"]
        else:
            result["released"] = release_all(locks, p["run_id"], dry_run=module.check_mode)
            result["changed"] = result["released"]
    except LockHeld as exc:
        module.fail_json(msg=str(exc), held_by=exc.holder, **{k: v for k, v in result.items() if k != "changed"})
    except RedisModuleError as exc:
        result["backend_error"] = True
        module.fail_json(msg=f"cannot use the Redis lock: {exc}", **{k: v for k, v in result.items() if k != "changed"})
    except (RedisConnectionError, RedisTimeoutError, ResponseError) as exc:
        result["backend_error"] = True
        module.fail_json(
            msg=f"cannot use the Redis lock at {result.get('lock', '?')}: {exc}",
            **{k: v for k, v in result.items() if k != "changed"},
        )
    except OSError as exc:
        result["backend_error"] = True
        module.fail_json(
            msg=f"cannot use the lock file {result.get('lock')}: {exc}",
            **{k: v for k, v in result.items() if k != "changed"},
        )
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"runbook lock failed: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
