# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VACUUM / ANALYZE / REINDEX one object at a time, outside a transaction, under lock and statement timeouts."""

from __future__ import annotations

import re
import time
from typing import Any

from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    PostgresError,
    database_error,
    fetch_dicts,
    set_timeout,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import InvalidOption, check_text

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # the module reports the missing library through ensure_psycopg2()
    pass

OPERATIONS = ("vacuum", "vacuum_analyze", "analyze", "reindex")

RESOLVE_SQL = """
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind,
       CASE WHEN c.relkind IN ('i', 'I') THEN tc.relname END AS "table",
       CASE WHEN c.relkind IN ('i', 'I') THEN tc.oid END AS table_oid
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_class tc ON tc.oid = x.indrelid
WHERE c.relname = %(name)s
  AND c.relkind IN ('r', 'm', 'p', 'i', 'I')
  AND CASE WHEN %(schema)s::text IS NULL THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = %(schema)s END
ORDER BY array_position(current_schemas(false), n.nspname::name)
LIMIT 1
"""


def check_objects(option: str, value: Any) -> Any:
    """Every entry a non-empty 'name'/'schema.name' or a dict whose schema/name are text and kind table|index."""
    if value is None:
        return value
    check_text(option, value)
    if not isinstance(value, list):
        raise InvalidOption(option, "must be a list of names or dicts with schema and name")
    for index, obj in enumerate(value):
        where = f"{option}[{index}]"
        if isinstance(obj, dict):
            for key in ("schema", "name"):
                if obj.get(key) is not None and not isinstance(obj[key], str):
                    raise InvalidOption(where, f"{key} must be a string (a {key} name), got {type(obj[key]).__name__}")
            if not obj.get("name"):
                raise InvalidOption(where, "has no name: give 'schema.name' or a dict with schema and name")
            if obj.get("kind") not in (None, "table", "index"):
                raise InvalidOption(where, f"kind must be table or index, got {obj.get('kind')!r}")
        elif not isinstance(obj, str) or not obj.strip():
            raise InvalidOption(where, "is not a name: give 'schema.name' or a dict with schema and name")
    return value


def parse_object(obj: Any) -> dict[str, Any]:
    """Accept 'table', 'schema.table' or a dict with schema/name (pg_bloat_info's over_threshold entries)."""
    if isinstance(obj, dict):
        name = obj.get("name")
        if not name or not isinstance(name, str):
            raise PostgresError(f"object {obj!r} has no name: give 'schema.name' or a dict with schema and name")
        schema = obj.get("schema") or None
        kind = obj.get("kind")
        if kind not in (None, "table", "index"):
            raise PostgresError(f"object {obj!r}: kind must be table or index, not {kind!r}")
        return {"schema": schema, "name": name, "kind": kind}
    if isinstance(obj, str) and obj.strip():
        # Split on the first dot only; names with dots in them need the dict form.
        schema, dot, name = obj.partition(".")
        return (
            {"schema": schema, "name": name, "kind": None}
            if dot and name
            else {"schema": None, "name": obj, "kind": None}
        )
    raise PostgresError(f"object {obj!r} is not a name: give 'schema.name' or a dict with schema and name")


def resolve_object(conn: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """Find the relation in the catalog (parameters only, never string formatting)."""
    rows = fetch_dicts(conn, RESOLVE_SQL, {"schema": obj["schema"], "name": obj["name"]})
    label = f"{obj['schema']}.{obj['name']}" if obj["schema"] else obj["name"]
    if not rows:
        raise PostgresError(f"no table or index named {label!r} in database {conn.info.dbname!r}")
    row = rows[0]
    kind = "index" if row["relkind"] in ("i", "I") else "table"
    if obj["kind"] and obj["kind"] != kind:
        raise PostgresError(f"{label!r} is a {kind}, not a {obj['kind']}")
    return {**row, "kind": kind}


def build_statement(operation: str, target: dict[str, Any], concurrently: bool) -> Any:
    """The psycopg2.sql statement for one object; identifiers are always quoted by sql.Identifier."""
    if target["kind"] == "index" and operation != "reindex":
        # VACUUM / ANALYZE work on tables: an index entry means its table.
        ident = sql.Identifier(target["schema"], target["table"])
    else:
        ident = sql.Identifier(target["schema"], target["name"])
    if operation == "vacuum":
        return sql.SQL("VACUUM {}").format(ident)
    if operation == "vacuum_analyze":
        return sql.SQL("VACUUM (ANALYZE) {}").format(ident)
    if operation == "analyze":
        return sql.SQL("ANALYZE {}").format(ident)
    what = sql.SQL("INDEX" if target["kind"] == "index" else "TABLE")
    return sql.SQL("REINDEX {} {}{}").format(what, sql.SQL("CONCURRENTLY ") if concurrently else sql.SQL(""), ident)


def relation_size(conn: Any, target: dict[str, Any]) -> int:
    """Bytes on disk: the whole table with its indexes and TOAST, or the one index."""
    fn = "pg_relation_size" if target["kind"] == "index" else "pg_total_relation_size"
    rows = fetch_dicts(conn, f"SELECT coalesce({fn}(%s::oid), 0) AS size", (target["oid"],))
    return int(rows[0]["size"])


def invalid_indexes(conn: Any, table_oid: int) -> set[int]:
    """Invalid indexes on a table (what a failed REINDEX CONCURRENTLY leaves behind as *_ccnew)."""
    rows = fetch_dicts(conn, "SELECT indexrelid FROM pg_index WHERE indrelid = %s AND NOT indisvalid", (table_oid,))
    return {int(r["indexrelid"]) for r in rows}


def drop_leftover_indexes(conn: Any, oids: set[int]) -> list[str]:
    """Drop the invalid copies a failed REINDEX CONCURRENTLY created, so nothing is left half-done."""
    dropped = []
    for oid in sorted(oids):
        rows = fetch_dicts(
            conn,
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s",
            (oid,),
        )
        if not rows:
            continue
        ident = sql.Identifier(rows[0]["nspname"], rows[0]["relname"])
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(ident))
        dropped.append(f"{rows[0]['nspname']}.{rows[0]['relname']}")
    return dropped


LEFTOVER_SQL = """
SELECT n.nspname, c.relname, c.oid FROM pg_index x
JOIN pg_class c ON c.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE x.indrelid = %s AND NOT x.indisvalid AND c.relname ~ '_ccnew[0-9]*$'
"""
CCNEW = re.compile(r"^(.*)_ccnew[0-9]*$")


def leftover_copies(conn: Any, target: dict[str, Any]) -> list[dict[str, Any]]:
    """Invalid <index>_ccnew copies an earlier, interrupted REINDEX CONCURRENTLY of the target left behind."""
    table_oid = target["table_oid"] if target["kind"] == "index" else target["oid"]
    rows = fetch_dicts(conn, LEFTOVER_SQL, (table_oid,))
    if target["kind"] != "index":
        return rows
    # PostgreSQL cuts long names to 63 bytes before adding _ccnew: the base is then a prefix of the index name.
    return [r for r in rows if _copy_of(r["relname"], target["name"])]


def _copy_of(relname: str, index: str) -> bool:
    match = CCNEW.match(relname)
    if not match:
        return False
    base = match.group(1)
    return base == index or (len(relname.encode("utf-8")) >= 57 and bool(base) and index.startswith(base))


def ccnew_names(target: dict[str, Any]) -> str:
    """The name(s) a REINDEX CONCURRENTLY of the target gives its new copies, for messages."""
    if target["kind"] == "index":
        return f"{target['schema']}.{target['name']}_ccnew"
    return f"the invalid {target['schema']}.<index>_ccnew indexes on table {target['schema']}.{target['name']}"


def plan_maintenance(
    conn: Any, *, operation: str, objects: list[Any], concurrently: bool = True, allow_blocking: bool = False
) -> list[dict[str, Any]]:
    """Resolve every object and build its statement; fail before running anything if one is wrong."""
    if operation not in OPERATIONS:
        raise PostgresError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if not objects:
        return []
    if operation == "reindex" and not concurrently and not allow_blocking:
        raise PostgresError(
            "a blocking REINDEX (concurrently=false) locks out writes to the table until it ends; "
            "set allow_blocking=true to confirm, or keep concurrently=true"
        )
    plan, seen = [], set()
    for raw in objects:
        target = resolve_object(conn, parse_object(raw))
        stmt = build_statement(operation, target, concurrently and operation == "reindex")
        text = stmt.as_string(conn)
        if text in seen:
            continue  # a table and its index under VACUUM collapse into one statement
        seen.add(text)
        plan.append({"target": target, "statement": stmt, "sql": text, "operation": operation})
    return plan


def run_maintenance(
    conn: Any, plan: list[dict[str, Any]], *, lock_timeout: float, statement_timeout: float
) -> tuple[list[dict[str, Any]], str | None]:
    """Run the plan one statement at a time (autocommit). Stops at the first failure.

    Returns (results, error message or None). Objects after a failure are reported as skipped.
    """
    set_timeout(conn, "lock_timeout", lock_timeout)
    set_timeout(conn, "statement_timeout", statement_timeout)
    results: list[dict[str, Any]] = []
    error = None
    for step in plan:
        target = step["target"]
        entry: dict[str, Any] = {
            "schema": target["schema"],
            "name": target["name"],
            "kind": target["kind"],
            "statement": step["sql"],
        }
        if error:
            results.append({**entry, "result": "skipped"})
            continue
        table_oid = target["table_oid"] if target["kind"] == "index" else target["oid"]
        started = time.monotonic()
        before_invalid = None
        try:
            if step["operation"] == "reindex":
                # An earlier run cut short (lost connection, lock_timeout during its clean-up) left these.
                leftovers = leftover_copies(conn, target)
                if leftovers:
                    entry["dropped_leftovers"] = drop_leftover_indexes(conn, {int(r["oid"]) for r in leftovers})
            # Reading the size takes a share lock too, so it waits under the same timeouts.
            entry["size_before"] = relation_size(conn, target)
            before_invalid = invalid_indexes(conn, table_oid)
            with conn.cursor() as cur:
                cur.execute(step["statement"])
            entry["result"] = "ok"
        except psycopg2.Error as exc:
            entry["result"] = "failed"
            error = str(database_error(exc, step["sql"]))
            entry["error"] = error
            try:
                entry["cleaned_up"] = _clean_up_after_failure(conn, table_oid, before_invalid)
            except PostgresError as cleanup_error:
                # Typically the connection itself is gone: say so, keep the original reason first.
                error = (
                    f"{error}; afterwards {cleanup_error}: {ccnew_names(target)} may be left invalid "
                    "(the next reindex run of this object drops it)"
                )
                entry["error"] = error
        entry["duration_seconds"] = round(time.monotonic() - started, 3)
        entry["size_after"] = current_size(conn, target)
        for key in ("cleaned_up", "dropped_leftovers"):
            if not entry.get(key):
                entry.pop(key, None)
        results.append(entry)
    return results, error


def _clean_up_after_failure(conn: Any, table_oid: int, before_invalid: set[int] | None) -> list[str]:
    """Drop index copies a failed REINDEX CONCURRENTLY left invalid (only ones that were not there before)."""
    if before_invalid is None:
        return []
    try:
        return drop_leftover_indexes(conn, invalid_indexes(conn, table_oid) - before_invalid)
    except psycopg2.Error as exc:
        raise database_error(exc, "dropping the invalid index left by a failed REINDEX CONCURRENTLY") from None


def current_size(conn: Any, target: dict[str, Any]) -> int | None:
    """Size now (None when locked out), looked up by name: REINDEX CONCURRENTLY swaps in a new index."""
    fn = "pg_relation_size" if target["kind"] == "index" else "pg_total_relation_size"
    try:
        rows = fetch_dicts(
            conn,
            f"SELECT {fn}(c.oid) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            (target["schema"], target["name"]),
        )
    except psycopg2.Error:
        return None  # still locked by someone else: the statement's result is what matters
    return int(rows[0]["size"]) if rows else None
