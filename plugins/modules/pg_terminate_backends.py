#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_terminate_backends
short_description: Terminate idle PostgreSQL sessions of one role to free connection slots
version_added: 0.1.0
description:
  - Ends client sessions (C(pg_terminate_backend)) that match every filter given, longest idle first.
  - Never terminates its own session, and never a non-client backend (walsender, autovacuum,
    background workers, checkpointer...).
  - The filters are checked again in the statement that terminates, so a session that became active
    after it was listed is left alone.
  - In check mode, lists the sessions it would terminate and terminates nothing.
author:
  - Stratum SRE (@stratum-sre)
options:
  usename:
    description: Role whose sessions to terminate. Required unless O(all_users=true).
    type: str
  all_users:
    description: Match sessions of every role (mutually exclusive with O(usename)).
    type: bool
    default: false
  states:
    description: Session states to match.
    type: list
    elements: str
    default: [idle]
    choices: [active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled]
  idle_seconds:
    description:
      - Only sessions that have been in their current state at least this many seconds.
      - The default is the runbook's 10 minutes.
    type: float
    default: 600
  application_name:
    description: Only sessions with this application_name.
    type: str
  database:
    description: Only sessions connected to this database.
    type: str
  max_terminations:
    description: Terminate at most this many sessions (the longest idle first).
    type: int
  statement_timeout:
    description: Upper bound in seconds for each query the module runs.
    type: int
    default: 30
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.postgres
attributes:
  check_mode:
    support: full
    details: Lists the sessions that match and would be terminated.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Free slots held by the API's idle connections (idle for 10 minutes or more)
  stratum.ops.pg_terminate_backends:
    login_host: db.internal
    login_user: sre
    usename: stratum_api
    states: [idle]
    idle_seconds: 600
    max_terminations: 50
  register: terminated

- name: Sessions idle in a transaction for 5 minutes, any role
  stratum.ops.pg_terminate_backends:
    login_host: db.internal
    login_user: sre
    all_users: true
    states: [idle in transaction, idle in transaction (aborted)]
    idle_seconds: 300
"""

RETURN = r"""
terminated:
  description: The sessions terminated (in check mode, the ones that would be).
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Backend pid.
      type: int
    usename:
      description: Role.
      type: str
    datname:
      description: Database.
      type: str
    application_name:
      description: Application name.
      type: str
    state:
      description: State when terminated.
      type: str
    idle_seconds:
      description: Seconds in that state.
      type: float
  sample:
    - pid: 4242
      usename: stratum_api
      datname: stratum
      application_name: stratum-api
      state: idle
      idle_seconds: 912.5
count:
  description: Number of sessions in RV(terminated).
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    connect,
    ensure_psycopg2,
    fail_module,
    postgres_argument_spec,
    postgres_checks,
    statement_timeout_check,
)
from ansible_collections.stratum.ops.plugins.module_utils.postgres_activity import CLIENT_STATES, terminate_backends
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module


def main() -> None:
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        usename=dict(type="str"),
        all_users=dict(type="bool", default=False),
        states=dict(type="list", elements="str", default=["idle"], choices=list(CLIENT_STATES)),
        idle_seconds=dict(type="float", default=600),
        application_name=dict(type="str"),
        database=dict(type="str"),
        max_terminations=dict(type="int"),
        statement_timeout=dict(type="int", default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    p = module.params
    validate_module(
        module,
        postgres_checks(p),
        [
            (check_number, "idle_seconds", p["idle_seconds"], 0, 10**9),
            (check_number, "max_terminations", p["max_terminations"], 1, 10**6),
            statement_timeout_check("statement_timeout", p["statement_timeout"]),
        ],
    )
    conn = None
    try:
        conn = connect(p, statement_timeout=p["statement_timeout"])
        terminated = terminate_backends(
            conn,
            usename=p["usename"],
            all_users=p["all_users"],
            states=p["states"],
            idle_seconds=p["idle_seconds"],
            application_name=p["application_name"],
            database=p["database"],
            max_terminations=p["max_terminations"],
            check_mode=module.check_mode,
        )
    except Exception as exc:
        fail_module(module, exc, "terminating sessions")
    finally:
        if conn is not None:
            conn.close()
    module.exit_json(changed=bool(terminated), terminated=terminated, count=len(terminated))


if __name__ == "__main__":
    main()
