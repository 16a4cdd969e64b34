#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_activity_info
short_description: Triage PostgreSQL connection exhaustion from pg_stat_activity
version_added: 0.1.0
description:
  - Reports how full the server is (RV(usage_pct), what the C(DatabaseConnectionsHigh) alert measures),
    who holds the connections (counts by role, application, state and database), queries running longer
    than O(long_running_seconds), sessions idle in a transaction, and which sessions block which
    (C(pg_blocking_pids), followed to the session at the root of each chain).
  - Never changes anything.
  - A role that is neither superuser nor member of C(pg_read_all_stats) sees other roles' sessions
    without their query text.
author:
  - Stratum SRE (@stratum-sre)
options:
  long_running_seconds:
    description: Active queries running at least this many seconds are listed in RV(long_running).
    type: float
    default: 30
  query_max_length:
    description: Query texts are cut to this many characters (V(0) keeps them whole).
    type: int
    default: 200
  statement_timeout:
    description: Upper bound in seconds for each query the module runs.
    type: int
    default: 30
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.postgres
"""

EXAMPLES = r"""
- name: Who holds the connections?
  stratum.ops.pg_activity_info:
    login_host: db.internal
    login_user: sre
    long_running_seconds: 60
  register: activity

- name: Page when over 80 %
  ansible.builtin.debug:
    msg: "{{ activity.usage_pct }} % of {{ activity.max_connections }} used; top: {{ activity.by_usename }}"
"""

RETURN = r"""
max_connections:
  description: The server's max_connections.
  returned: always
  type: int
  sample: 100
superuser_reserved_connections:
  description: Slots reserved for superusers.
  returned: always
  type: int
  sample: 3
reserved_connections:
  description: All reserved slots (superuser plus, on PostgreSQL 16+, C(reserved_connections)).
  returned: always
  type: int
  sample: 3
total:
  description: Client connections open now (background processes not counted).
  returned: always
  type: int
  sample: 84
available:
  description: Slots left for ordinary roles.
  returned: always
  type: int
  sample: 13
usage_pct:
  description: RV(total) as a percentage of RV(max_connections).
  returned: always
  type: float
  sample: 84.0
by_usename:
  description: Client connections per role.
  returned: always
  type: dict
  sample: {api: 70, workers: 12, sre: 2}
by_application_name:
  description: Client connections per application_name.
  returned: always
  type: dict
  sample: {stratum-api: 70}
by_state:
  description: Client connections per state (active, idle, idle in transaction...).
  returned: always
  type: dict
  sample: {idle: 60, active: 20, "idle in transaction": 4}
by_database:
  description: Client connections per database.
  returned: always
  type: dict
  sample: {stratum: 84}
long_running:
  description: Active queries running at least O(long_running_seconds), longest first.
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
    client_addr:
      description: Client address.
      type: str
    state:
      description: Session state.
      type: str
    duration_seconds:
      description: Seconds since the query started.
      type: float
    wait_event_type:
      description: What it waits on, if anything.
      type: str
    wait_event:
      description: The wait event.
      type: str
    query:
      description: Query text, cut to O(query_max_length).
      type: str
idle_in_transaction:
  description:
    - Sessions idle inside an open transaction, longest first.
    - Same fields as RV(long_running), the duration counted since the state change, plus C(xact_seconds).
  returned: always
  type: list
  elements: dict
blocked:
  description: Sessions waiting on a lock held by another session.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: The waiting session.
      type: int
    blocked_by:
      description: The pids it waits for (pg_blocking_pids).
      type: list
      elements: int
    chain:
      description: This pid, its blocker, that one's blocker... up to a session that is not waiting.
      type: list
      elements: int
    root_blocker:
      description: The last pid of the chain, the one to look at first.
      type: int
    usename:
      description: Role of the waiting session.
      type: str
    wait_event_type:
      description: Usually V(Lock).
      type: str
    wait_seconds:
      description: Seconds since the waiting query started.
      type: float
    query:
      description: The waiting query.
      type: str
    root_blocker_usename:
      description: Role of the root blocker.
      type: str
    root_blocker_state:
      description: State of the root blocker (often V(idle in transaction)).
      type: str
    root_blocker_query:
      description: Last query of the root blocker.
      type: str
collected_at:
  description: Server time of the snapshot (ISO 8601).
  returned: always
  type: str
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
from ansible_collections.stratum.ops.plugins.module_utils.postgres_activity import activity_report
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module


def main() -> None:
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        long_running_seconds=dict(type="float", default=30),
        query_max_length=dict(type="int", default=200),
        statement_timeout=dict(type="int", default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    p = module.params
    validate_module(
        module,
        postgres_checks(p),
        [
            (check_number, "long_running_seconds", p["long_running_seconds"], 0, 10**9),
            (check_number, "query_max_length", p["query_max_length"], 0, 10**6),
            statement_timeout_check("statement_timeout", p["statement_timeout"], True),
        ],
    )
    for name in ("long_running_seconds", "query_max_length", "statement_timeout"):
        if p[name] < 0:
            module.fail_json(msg=f"{name} must be 0 or more, not {p[name]}")
    conn = None
    try:
        conn = connect(p, statement_timeout=p["statement_timeout"])
        report = activity_report(
            conn, long_running_seconds=p["long_running_seconds"], query_max_length=p["query_max_length"]
        )
    except Exception as exc:
        fail_module(module, exc, "reading pg_stat_activity")
    finally:
        if conn is not None:
            conn.close()
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
