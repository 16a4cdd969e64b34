#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_maintenance
short_description: VACUUM, ANALYZE or REINDEX PostgreSQL tables and indexes one at a time, safely
version_added: 0.1.0
description:
  - Runs one maintenance statement per object, outside a transaction (autocommit), under O(lock_timeout)
    so it gives up instead of queueing behind, and blocking, the application's traffic.
  - REINDEX runs C(CONCURRENTLY) by default; a blocking REINDEX needs O(allow_blocking=true).
  - Stops at the first failure and reports it; the objects after it are not touched. When a
    C(REINDEX CONCURRENTLY) fails midway, the invalid C(<index>_ccnew) index copy it left is dropped, so
    nothing is left half-done. When that clean-up cannot run (the connection is gone, or its own
    O(lock_timeout) expires), the message names the C(<index>_ccnew) left behind, and the next
    C(reindex) run of the same object drops such invalid leftover copies before it starts.
  - Every object is looked up in the catalog first and its name quoted as an identifier, so a name
    with quotes or semicolons is only ever a name.
  - Reports every run as changed (maintenance is an action); with no objects, nothing runs and it is not changed.
  - In check mode, resolves the objects and lists the statements it would run, running none.
author:
  - Stratum SRE (@stratum-sre)
options:
  operation:
    description: What to run. V(vacuum_analyze) is C(VACUUM (ANALYZE)).
    type: str
    required: true
    choices: [vacuum, vacuum_analyze, analyze, reindex]
  objects:
    description:
      - Tables or indexes, as V(name) (found through the search path), V(schema.name), or dicts with
        C(schema) and C(name) (and optionally C(kind), V(table) or V(index)).
      - The RV(stratum.ops.pg_bloat_info#module:over_threshold) list of M(stratum.ops.pg_bloat_info)
        can be passed as-is.
      - For VACUUM and ANALYZE an index means its table.
    type: list
    elements: raw
    required: true
  concurrently:
    description: Use C(REINDEX ... CONCURRENTLY), which does not block writes.
    type: bool
    default: true
  allow_blocking:
    description: Confirm a blocking REINDEX (O(concurrently=false)), which locks out writes to the table until it ends.
    type: bool
    default: false
  lock_timeout:
    description: Seconds to wait for a lock before giving up on an object (C(lock_timeout)).
    type: float
    default: 5
  statement_timeout:
    description: Upper bound in seconds for each statement (V(0) means no limit).
    type: int
    default: 3600
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.postgres
attributes:
  check_mode:
    support: full
    details: Lists the statements it would run.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Measure bloat
  stratum.ops.pg_bloat_info:
    login_host: db.internal
    login_db: stratum
    method: hybrid
    include_indexes: true
  register: bloat

- name: Rebuild the bloated tables' indexes without blocking writes
  stratum.ops.pg_maintenance:
    login_host: db.internal
    login_db: stratum
    operation: reindex
    objects: "{{ bloat.over_threshold }}"
    lock_timeout: 5

- name: Vacuum and analyze two tables
  stratum.ops.pg_maintenance:
    login_host: db.internal
    login_db: stratum
    operation: vacuum_analyze
    objects: [public.events, public.sessions]
"""

RETURN = r"""
statements:
  description: The statements run (in check mode, the ones that would run), in order.
  returned: always
  type: list
  elements: str
  sample: ['REINDEX TABLE CONCURRENTLY "public"."events"']
results:
  description: One entry per statement.
  returned: always
  type: list
  elements: dict
  contains:
    schema:
      description: Schema.
      type: str
    name:
      description: Table or index name.
      type: str
    kind:
      description: V(table) or V(index).
      type: str
    statement:
      description: The SQL statement.
      type: str
    result:
      description: V(ok), V(failed), V(skipped) (after an earlier failure) or V(check_mode).
      type: str
    size_before:
      description: Bytes before (a table with its indexes and TOAST; an index alone).
      type: int
    size_after:
      description: Bytes after.
      type: int
      returned: when it ran
    duration_seconds:
      description: Seconds the statement took.
      type: float
      returned: when it ran
    error:
      description: Why it failed.
      type: str
      returned: when it failed
    cleaned_up:
      description: Invalid index copies left by a failed C(REINDEX CONCURRENTLY) that were dropped.
      type: list
      elements: str
      returned: when there were any
    dropped_leftovers:
      description:
        - Invalid C(<index>_ccnew) copies an earlier, interrupted C(REINDEX CONCURRENTLY) of this object left,
          dropped before reindexing it again.
      type: list
      elements: str
      returned: when there were any
  sample:
    - schema: public
      name: events
      kind: table
      statement: REINDEX TABLE CONCURRENTLY "public"."events"
      result: ok
      size_before: 22609920
      size_after: 16384000
      duration_seconds: 1.284
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    connect,
    ensure_psycopg2,
    fail_module,
    postgres_argument_spec,
    postgres_checks,
    set_timeout,
    statement_timeout_check,
)
from ansible_collections.stratum.ops.plugins.module_utils.postgres_maintenance import (
    OPERATIONS,
    check_objects,
    current_size,
    plan_maintenance,
    run_maintenance,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        operation=dict(type="str", required=True, choices=list(OPERATIONS)),
        objects=dict(type="list", elements="raw", required=True),
        concurrently=dict(type="bool", default=True),
        allow_blocking=dict(type="bool", default=False),
        lock_timeout=dict(type="float", default=5),
        statement_timeout=dict(type="int", default=3600),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    p = module.params
    validate_module(
        module,
        postgres_checks(p),
        [
            statement_timeout_check("lock_timeout", p["lock_timeout"]),
            statement_timeout_check("statement_timeout", p["statement_timeout"], True),
            (check_objects, "objects", p["objects"]),
        ],
    )
    if p["lock_timeout"] <= 0:
        module.fail_json(
            msg=f"lock_timeout must be more than 0 seconds (0 would wait forever), not {p['lock_timeout']}"
        )
    if p["statement_timeout"] < 0:
        module.fail_json(msg=f"statement_timeout must be 0 (no limit) or more seconds, not {p['statement_timeout']}")
    conn = None
    results, statements, error = [], [], None
    try:
        conn = connect(p, statement_timeout=60)
        plan = plan_maintenance(
            conn,
            operation=p["operation"],
            objects=p["objects"],
            concurrently=p["concurrently"],
            allow_blocking=p["allow_blocking"],
        )
        statements = [step["sql"] for step in plan]
        if module.check_mode:
            set_timeout(conn, "lock_timeout", p["lock_timeout"])
            results = [
                {
                    "schema": s["target"]["schema"],
                    "name": s["target"]["name"],
                    "kind": s["target"]["kind"],
                    "statement": s["sql"],
                    "result": "check_mode",
                    "size_before": current_size(conn, s["target"]),
                }
                for s in plan
            ]
        else:
            results, error = run_maintenance(
                conn, plan, lock_timeout=p["lock_timeout"], statement_timeout=p["statement_timeout"]
            )
    except Exception as exc:
        fail_module(module, exc, "maintenance", statements=statements, results=results)
    finally:
        if conn is not None:
            conn.close()
    if error:
        skipped = sum(1 for r in results if r["result"] == "skipped")
        module.fail_json(
            msg=f"{error}; {skipped} later object(s) not touched",
            changed=any(r["result"] == "ok" for r in results),
            statements=statements,
            results=results,
        )
    module.exit_json(changed=bool(statements), statements=statements, results=results)


if __name__ == "__main__":
    main()
