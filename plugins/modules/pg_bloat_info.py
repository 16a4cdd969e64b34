#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_bloat_info
short_description: Measure table and btree index bloat in a PostgreSQL database
version_added: 0.1.0
description:
  - Reports how much of each table (and optionally each btree index) is dead rows and free space,
    and which relations are over a threshold, so VACUUM and REINDEX go where they help.
  - V(estimate) uses pg_stats (average column widths and null fractions) and the current row count,
    the approach of check_postgres and pgsql-bloat-estimation; one catalog query for the whole database.
  - V(exact) reads every page with the pgstattuple extension (pgstattuple / pgstatindex).
  - V(hybrid) estimates first, then confirms exactly only the relations near or over the threshold
    and those whose statistics are stale.
  - Never changes anything; it does not create the pgstattuple extension.
author:
  - Stratum SRE (@stratum-sre)
options:
  method:
    description:
      - How to measure bloat.
      - V(exact) and V(hybrid) need C(CREATE EXTENSION pgstattuple) in the database and a role that may
        run it (superuser or member of C(pg_stat_scan_tables)).
    type: str
    choices: [estimate, exact, hybrid]
    default: estimate
  schemas:
    description: Only these schemas (default all but the system schemas).
    type: list
    elements: str
  exclude_schemas:
    description: Skip these schemas.
    type: list
    elements: str
    default: []
  tables:
    description: Only these tables, as V(name) or V(schema.name); indexes of these tables when O(include_indexes=true).
    type: list
    elements: str
  include_indexes:
    description: Also measure btree indexes.
    type: bool
    default: false
  min_size_bytes:
    description: Relations smaller than this are reported but never flagged in RV(over_threshold).
    type: int
    default: 1048576
  threshold_pct:
    description: Bloat percentage at or above which a relation is flagged.
    type: float
    default: 30
  statement_timeout:
    description: Upper bound in seconds for each query the module runs.
    type: int
    default: 60
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.postgres
notes:
  - PostgreSQL 15 and later may hold back a session's table statistics (row counts) for up to
    about ten seconds after a commit; numbers from V(estimate) for a table changed that recently can lag.
  - Entries whose column statistics are missing or old are marked RV(tables[].stats_stale); run ANALYZE
    or use V(hybrid), which measures them exactly.
"""

EXAMPLES = r"""
- name: Find bloated tables, estimate first and confirm with pgstattuple
  stratum.ops.pg_bloat_info:
    login_host: db.internal
    login_user: sre
    login_db: stratum
    method: hybrid
    include_indexes: true
    threshold_pct: 30
  register: bloat

- name: Vacuum what it found
  stratum.ops.pg_maintenance:
    login_host: db.internal
    login_user: sre
    login_db: stratum
    operation: vacuum_analyze
    objects: "{{ bloat.over_threshold }}"
"""

RETURN = r"""
method:
  description: The method used.
  returned: always
  type: str
  sample: hybrid
tables:
  description: Every table measured.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(table).
      type: str
    schema:
      description: Schema name.
      type: str
    name:
      description: Table name.
      type: str
    size_bytes:
      description: Size of the table's main data (heap), bytes.
      type: int
    bloat_bytes:
      description: Bytes not needed by live rows (dead rows and free space); null when it cannot be estimated.
      type: int
    bloat_pct:
      description: RV(tables[].bloat_bytes) as a percentage of RV(tables[].size_bytes); null when unknown.
      type: float
    live_tuples:
      description: Live rows.
      type: int
    dead_tuples:
      description: Dead rows not yet vacuumed.
      type: int
    dead_tuple_pct:
      description: dead / (live + dead), percent.
      type: float
    last_vacuum:
      description: Last manual VACUUM (ISO 8601) or null.
      type: str
    last_autovacuum:
      description: Last autovacuum (ISO 8601) or null.
      type: str
    last_analyze:
      description: Last manual ANALYZE (ISO 8601) or null.
      type: str
    last_autoanalyze:
      description: Last auto-analyze (ISO 8601) or null.
      type: str
    stats_stale:
      description: Column statistics missing, or many rows changed since the last ANALYZE; the estimate may be off.
      type: bool
    measured_by:
      description: V(estimate) or V(exact) (pgstattuple).
      type: str
  sample:
    - kind: table
      schema: public
      name: events
      size_bytes: 14131200
      bloat_bytes: 8511488
      bloat_pct: 60.23
      live_tuples: 40000
      dead_tuples: 60000
      dead_tuple_pct: 60.0
      last_vacuum: null
      last_autovacuum: null
      last_analyze: "2026-11-27T22:40:01.123456+00:00"
      last_autoanalyze: null
      stats_stale: true
      measured_by: estimate
indexes:
  description:
    - Every btree index measured (empty unless O(include_indexes=true)).
    - Same fields as RV(tables) plus C(table), the table it belongs to.
  returned: always
  type: list
  elements: dict
over_threshold:
  description:
    - Tables and indexes at least O(min_size_bytes) big with bloat at or above O(threshold_pct),
      largest bloat_bytes first.
    - Can be passed as-is to the O(stratum.ops.pg_maintenance#module:objects) option of M(stratum.ops.pg_maintenance).
  returned: always
  type: list
  elements: dict
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
from ansible_collections.stratum.ops.plugins.module_utils.postgres_bloat import METHODS, bloat_report
from ansible_collections.stratum.ops.plugins.module_utils.validation import MAX_INT, check_number, validate_module


def main() -> None:
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        method=dict(type="str", choices=list(METHODS), default="estimate"),
        schemas=dict(type="list", elements="str"),
        exclude_schemas=dict(type="list", elements="str", default=[]),
        tables=dict(type="list", elements="str"),
        include_indexes=dict(type="bool", default=False),
        min_size_bytes=dict(type="int", default=1048576),
        threshold_pct=dict(type="float", default=30),
        statement_timeout=dict(type="int", default=60),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    p = module.params
    validate_module(
        module,
        postgres_checks(p),
        [
            (check_number, "min_size_bytes", p["min_size_bytes"], 0, MAX_INT),
            (check_number, "threshold_pct", p["threshold_pct"], 0, 100),
            statement_timeout_check("statement_timeout", p["statement_timeout"], True),
        ],
    )
    if p["min_size_bytes"] < 0:
        module.fail_json(msg=f"min_size_bytes must be 0 or more, not {p['min_size_bytes']}")
    if not 0 <= p["threshold_pct"] <= 100:
        module.fail_json(msg=f"threshold_pct must be between 0 and 100, not {p['threshold_pct']}")
    if p["statement_timeout"] < 0:
        module.fail_json(msg=f"statement_timeout must be 0 (no limit) or more seconds, not {p['statement_timeout']}")
    conn = None
    try:
        conn = connect(p, statement_timeout=p["statement_timeout"])
        report = bloat_report(
            conn,
            method=p["method"],
            schemas=p["schemas"],
            exclude_schemas=p["exclude_schemas"],
            tables=p["tables"],
            include_indexes=p["include_indexes"],
            min_size_bytes=p["min_size_bytes"],
            threshold_pct=p["threshold_pct"],
        )
    except Exception as exc:
        fail_module(module, exc, "measuring bloat")
    finally:
        if conn is not None:
            conn.close()
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
