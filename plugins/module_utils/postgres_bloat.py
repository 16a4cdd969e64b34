# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table and btree index bloat: a pg_stats-based estimate, pgstattuple's exact count, or both.

The estimate follows the approach of check_postgres and pgsql-bloat-estimation: from pg_stats'
average column widths and null fractions, work out how many pages the live rows need, and call the
rest of the relation bloat. It costs one catalog query for the whole database; pgstattuple reads
every page of every relation it is asked about.
"""

from __future__ import annotations

import math
from typing import Any

from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    PostgresError,
    database_error,
    fetch_dicts,
    isoformat,
)

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # the module reports the missing library through ensure_psycopg2()
    pass

METHODS = ("estimate", "exact", "hybrid")
PAGE_HEADER = 24
HEAP_TUPLE_HEADER = 23
LINE_POINTER = 4
BTREE_SPECIAL = 16
INDEX_TUPLE_HEADER = 8
BTREE_DEFAULT_FILLFACTOR = 90
# In hybrid mode, tables this many points under the threshold are still confirmed exactly.
HYBRID_MARGIN_PCT = 10.0
SYSTEM_SCHEMAS = ["pg_catalog", "information_schema"]

# The relation filter shared by both queries; parameters only, never formatted in.
REL_FILTER = """
    n.nspname <> ALL(%(system)s) AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp'
    AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY(%(schemas)s::text[]))
    AND n.nspname <> ALL(%(exclude_schemas)s::text[])
"""

# Column statistics: pg_statistic directly when readable (fast, index lookups), else the pg_stats view,
# which checks column privileges row by row.
WIDTHS_FROM_PG_STATISTIC = """
  LEFT JOIN pg_statistic s ON s.starelid = a.attrelid AND s.staattnum = a.attnum AND NOT s.stainherit
"""
WIDTHS_FROM_PG_STATS = """
  LEFT JOIN (SELECT schemaname, tablename, attname, null_frac AS stanullfrac, avg_width AS stawidth,
                    attname AS starelid
             FROM pg_stats WHERE NOT inherited) s
         ON s.schemaname = rel.nspname AND s.tablename = rel.relname AND s.attname = a.attname
"""

# Row counts straight from the statistics functions: the pg_stat_all_tables view computes them for every relation.
STAT_COLUMNS = """
       pg_stat_get_live_tuples(rel.oid) AS n_live_tup, pg_stat_get_dead_tuples(rel.oid) AS n_dead_tup,
       pg_stat_get_mod_since_analyze(rel.oid) AS n_mod_since_analyze,
       pg_stat_get_tuples_inserted(rel.oid) + pg_stat_get_tuples_updated(rel.oid)
         + pg_stat_get_tuples_deleted(rel.oid) AS n_tup_changes,
       pg_stat_get_last_vacuum_time(rel.oid) AS last_vacuum,
       pg_stat_get_last_autovacuum_time(rel.oid) AS last_autovacuum,
       pg_stat_get_last_analyze_time(rel.oid) AS last_analyze,
       pg_stat_get_last_autoanalyze_time(rel.oid) AS last_autoanalyze
"""

TABLE_INPUTS_SQL = (
    """
WITH rel AS MATERIALIZED (
  SELECT c.oid, n.nspname, c.relname, c.reltuples, c.reloptions
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND """
    + REL_FILTER
    + """
    AND (%(tables)s::text[] IS NULL OR c.relname = ANY(%(tables)s::text[])
         OR n.nspname || '.' || c.relname = ANY(%(tables)s::text[]))
), widths AS (
  SELECT rel.oid, count(*) AS natts, count(s.starelid) AS nstats,
         max(coalesce(s.stanullfrac, 0)) AS max_null_frac,
         sum((1 - coalesce(s.stanullfrac, 0)) * coalesce(s.stawidth, 0)) AS data_width
  FROM rel
  JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
  {widths}
  GROUP BY rel.oid
)
SELECT rel.oid, rel.nspname AS schema, rel.relname AS name, pg_relation_size(rel.oid) AS size_bytes,
       rel.reltuples, current_setting('block_size')::int AS block_size,
       coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int FROM unnest(rel.reloptions) o
                 WHERE o LIKE 'fillfactor=%%'), 100) AS fillfactor,
"""
    + STAT_COLUMNS
    + """,
       coalesce(w.natts, 0) AS natts, coalesce(w.nstats, 0) AS nstats,
       coalesce(w.max_null_frac, 0) AS max_null_frac, coalesce(w.data_width, 0) AS data_width
FROM rel
LEFT JOIN widths w ON w.oid = rel.oid
ORDER BY 2, 3
"""
)

INDEX_INPUTS_SQL = (
    """
WITH idx AS MATERIALIZED (
  SELECT x.indexrelid, x.indrelid, x.indkey, n.nspname, ic.relname AS index_name, tc.relname AS table_name,
         ic.reloptions, x.indexprs IS NOT NULL AS has_expressions, tc.reltuples
  FROM pg_index x
  JOIN pg_class ic ON ic.oid = x.indexrelid
  JOIN pg_class tc ON tc.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = ic.relnamespace
  JOIN pg_am am ON am.oid = ic.relam
  WHERE am.amname = 'btree' AND tc.relkind IN ('r', 'm') AND x.indisvalid AND """
    + REL_FILTER
    + """
    AND (%(tables)s::text[] IS NULL OR tc.relname = ANY(%(tables)s::text[])
         OR n.nspname || '.' || tc.relname = ANY(%(tables)s::text[]))
), cols AS (
  SELECT idx.indexrelid, count(*) AS ncols, count(s.starelid) AS nstats,
         max(coalesce(s.stanullfrac, 0)) AS max_null_frac,
         sum((1 - coalesce(s.stanullfrac, 0)) * coalesce(s.stawidth, 0)) AS data_width
  FROM idx
  JOIN LATERAL unnest(idx.indkey::int2[]) AS k(attnum) ON true
  JOIN pg_attribute a ON a.attrelid = idx.indrelid AND a.attnum = k.attnum
  JOIN LATERAL (SELECT idx.nspname, idx.table_name AS relname) rel ON true
  {widths}
  GROUP BY idx.indexrelid
)
SELECT idx.indexrelid AS oid, idx.nspname AS schema, idx.index_name AS name, idx.table_name AS "table",
       pg_relation_size(idx.indexrelid) AS size_bytes, current_setting('block_size')::int AS block_size,
       coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int FROM unnest(idx.reloptions) o
                 WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor,
       idx.has_expressions, idx.reltuples,
"""
    + STAT_COLUMNS.replace("rel.oid", "idx.indrelid")
    + """,
       coalesce(cols.ncols, 0) AS natts, coalesce(cols.nstats, 0) AS nstats,
       coalesce(cols.max_null_frac, 0) AS max_null_frac, coalesce(cols.data_width, 0) AS data_width
FROM idx
LEFT JOIN cols ON cols.indexrelid = idx.indexrelid
ORDER BY 2, 3
"""
)


def align(value: float, alignment: int = 8) -> float:
    """Round a byte count up to the platform's MAXALIGN, as PostgreSQL lays tuples out."""
    return math.ceil(value / alignment) * alignment


def live_tuple_count(row: dict[str, Any]) -> float | None:
    """The best current row count: pg_stat's n_live_tup once it has seen activity, else reltuples."""
    has_activity = row.get("n_tup_changes") or any(
        row.get(k) for k in ("last_vacuum", "last_autovacuum", "last_analyze", "last_autoanalyze")
    )
    if row.get("n_live_tup") is not None and has_activity:
        return float(row["n_live_tup"])
    reltuples = row.get("reltuples")
    if reltuples is None or reltuples < 0:
        return None
    return float(reltuples)


def stats_are_stale(row: dict[str, Any]) -> bool:
    """Column statistics missing, or enough rows changed since ANALYZE that autovacuum would re-analyze."""
    if row.get("natts", 0) and row.get("nstats", 0) < row["natts"]:
        return True
    reltuples = max(float(row.get("reltuples") or 0), 0.0)
    return (row.get("n_mod_since_analyze") or 0) > 50 + 0.1 * reltuples


def estimate_heap_bloat(
    *,
    size_bytes: int,
    block_size: int,
    tuples: float,
    data_width: float,
    natts: int,
    max_null_frac: float,
    fillfactor: int = 100,
) -> tuple[int, float]:
    """Bytes and percent of a heap that its live rows do not need (pages beyond what they fill)."""
    pages = size_bytes // block_size
    if pages <= 0:
        return 0, 0.0
    header = HEAP_TUPLE_HEADER + (math.ceil(natts / 8) if max_null_frac > 0 else 0)
    tuple_size = align(header) + align(data_width) + LINE_POINTER
    usable = (block_size - PAGE_HEADER) * fillfactor / 100
    needed_pages = math.ceil(tuples * tuple_size / usable) if tuples > 0 else 0
    bloat_pages = max(pages - needed_pages, 0)
    return int(bloat_pages * block_size), round(100.0 * bloat_pages / pages, 2)


def estimate_btree_bloat(
    *,
    size_bytes: int,
    block_size: int,
    tuples: float,
    data_width: float,
    max_null_frac: float,
    fillfactor: int = BTREE_DEFAULT_FILLFACTOR,
) -> tuple[int, float]:
    """Bytes and percent of a btree index beyond what its live entries fill at the index's fillfactor."""
    pages = size_bytes // block_size
    if pages <= 1:
        return 0, 0.0
    header = INDEX_TUPLE_HEADER + (4 if max_null_frac > 0 else 0)
    tuple_size = align(header + data_width) + LINE_POINTER
    usable = (block_size - PAGE_HEADER - BTREE_SPECIAL) * fillfactor / 100
    leaf_pages = math.ceil(tuples * tuple_size / usable) if tuples > 0 else 0
    # One metapage plus roughly one internal page per few hundred leaves.
    needed_pages = 1 + leaf_pages + math.ceil(leaf_pages / 300)
    bloat_pages = max(pages - needed_pages, 0)
    return int(bloat_pages * block_size), round(100.0 * bloat_pages / pages, 2)


def exact_heap_bloat(stat: dict[str, Any], fillfactor: int = 100) -> tuple[int, float]:
    """Bloat from pgstattuple: dead tuples plus free space, less the space fillfactor reserves on purpose."""
    table_len = int(stat["table_len"] or 0)
    if table_len <= 0:
        return 0, 0.0
    wasted = int(stat["dead_tuple_len"] or 0) + int(stat["free_space"] or 0)
    wasted = max(wasted - int(table_len * (100 - fillfactor) / 100), 0)
    return wasted, round(100.0 * wasted / table_len, 2)


def exact_btree_bloat(
    stat: dict[str, Any], block_size: int, fillfactor: int = BTREE_DEFAULT_FILLFACTOR
) -> tuple[int, float]:
    """Bloat from pgstatindex: leaf pages emptier than the fillfactor, plus empty and deleted pages."""
    size = int(stat["index_size"] or 0)
    if size <= 0:
        return 0, 0.0
    density = float(stat["avg_leaf_density"] or 0)
    if math.isnan(density):
        density = 0.0
    leaf_waste = int(stat["leaf_pages"] or 0) * block_size * max(0.0, 1 - density / fillfactor)
    wasted = int(leaf_waste + (int(stat["empty_pages"] or 0) + int(stat["deleted_pages"] or 0)) * block_size)
    wasted = min(wasted, size)
    return wasted, round(100.0 * wasted / size, 2)


def dead_tuple_pct(live: float | None, dead: float | None) -> float | None:
    """dead / (live + dead) in percent; None when unknown."""
    if live is None or dead is None:
        return None
    total = live + dead
    return round(100.0 * dead / total, 2) if total > 0 else 0.0


def _base_entry(row: dict[str, Any], kind: str) -> dict[str, Any]:
    live = live_tuple_count(row)
    dead = float(row["n_dead_tup"]) if row.get("n_dead_tup") is not None else None
    return {
        "kind": kind,
        "schema": row["schema"],
        "name": row["name"],
        "size_bytes": int(row["size_bytes"]),
        "bloat_bytes": None,
        "bloat_pct": None,
        "live_tuples": int(live) if live is not None else None,
        "dead_tuples": int(dead) if dead is not None else None,
        "dead_tuple_pct": dead_tuple_pct(live, dead),
        "last_vacuum": isoformat(row.get("last_vacuum")),
        "last_autovacuum": isoformat(row.get("last_autovacuum")),
        "last_analyze": isoformat(row.get("last_analyze")),
        "last_autoanalyze": isoformat(row.get("last_autoanalyze")),
        "stats_stale": stats_are_stale(row),
        "measured_by": "estimate",
    }


def table_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One table's report entry with its estimated bloat (None when never analyzed)."""
    entry = _base_entry(row, "table")
    live = live_tuple_count(row)
    if row["nstats"] > 0 and live is not None:
        entry["bloat_bytes"], entry["bloat_pct"] = estimate_heap_bloat(
            size_bytes=int(row["size_bytes"]),
            block_size=int(row["block_size"]),
            tuples=live,
            data_width=float(row["data_width"]),
            natts=int(row["natts"]),
            max_null_frac=float(row["max_null_frac"]),
            fillfactor=int(row["fillfactor"]),
        )
    return entry


def index_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One btree index's report entry with its estimated bloat (None for expression indexes)."""
    entry = _base_entry(row, "index")
    entry["table"] = row["table"]
    live = live_tuple_count(row)
    if row["nstats"] > 0 and live is not None and not row["has_expressions"]:
        entry["bloat_bytes"], entry["bloat_pct"] = estimate_btree_bloat(
            size_bytes=int(row["size_bytes"]),
            block_size=int(row["block_size"]),
            tuples=live,
            data_width=float(row["data_width"]),
            max_null_frac=float(row["max_null_frac"]),
            fillfactor=int(row["fillfactor"]),
        )
    return entry


def is_over(entry: dict[str, Any], threshold_pct: float, min_size_bytes: int) -> bool:
    """Flag only relations at least min_size_bytes big whose bloat reaches the threshold."""
    return (
        entry["size_bytes"] >= min_size_bytes and entry["bloat_pct"] is not None and entry["bloat_pct"] >= threshold_pct
    )


def needs_confirmation(entry: dict[str, Any], threshold_pct: float, min_size_bytes: int) -> bool:
    """Hybrid: big enough, and the estimate is near or over the threshold or cannot be trusted."""
    if entry["size_bytes"] < min_size_bytes:
        return False
    if entry["bloat_pct"] is None or entry["stats_stale"]:
        return True
    return entry["bloat_pct"] >= threshold_pct - HYBRID_MARGIN_PCT


def can_read_pg_statistic(conn: Any) -> bool:
    """Superusers (and pg_read_all_data members) may read pg_statistic itself."""
    return bool(fetch_dicts(conn, "SELECT has_table_privilege('pg_catalog.pg_statistic', 'SELECT') AS ok")[0]["ok"])


def pgstattuple_schema(conn: Any) -> str | None:
    """The schema the pgstattuple extension is installed in, or None."""
    rows = fetch_dicts(
        conn,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = %s",
        ("pgstattuple",),
    )
    return rows[0]["nspname"] if rows else None


def measure_exact(conn: Any, schema: str, entries: list[dict[str, Any]], oids: dict[int, dict[str, Any]]) -> None:
    """Replace the estimate with pgstattuple/pgstatindex numbers for these entries (in place)."""
    heap_fn = sql.SQL("SELECT * FROM {}.pgstattuple(%s::oid)").format(sql.Identifier(schema))
    index_fn = sql.SQL("SELECT * FROM {}.pgstatindex(%s::oid::regclass)").format(sql.Identifier(schema))
    by_id = {id(v["entry"]): (oid, v) for oid, v in oids.items()}
    for entry in entries:
        oid, info = by_id[id(entry)]
        try:
            if entry["kind"] == "table":
                stat = fetch_dicts(conn, heap_fn, (oid,))[0]
                entry["bloat_bytes"], entry["bloat_pct"] = exact_heap_bloat(stat, info["fillfactor"])
                live, dead = float(stat["tuple_count"]), float(stat["dead_tuple_count"])
                entry["live_tuples"], entry["dead_tuples"] = int(live), int(dead)
                entry["dead_tuple_pct"] = dead_tuple_pct(live, dead)
            else:
                stat = fetch_dicts(conn, index_fn, (oid,))[0]
                entry["bloat_bytes"], entry["bloat_pct"] = exact_btree_bloat(
                    stat, info["block_size"], info["fillfactor"]
                )
        except psycopg2.errors.UndefinedTable:
            continue  # dropped while we were looking: nothing to report
        except psycopg2.Error as exc:
            raise database_error(exc, f"pgstattuple on {entry['schema']}.{entry['name']}") from None
        entry["measured_by"] = "exact"


def _oid_info(entry: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """What measure_exact needs to know about a relation besides its report entry."""
    return {"entry": entry, "fillfactor": int(row["fillfactor"]), "block_size": int(row["block_size"])}


def bloat_report(
    conn: Any,
    *,
    method: str = "estimate",
    schemas: list[str] | None = None,
    exclude_schemas: list[str] | None = None,
    tables: list[str] | None = None,
    include_indexes: bool = False,
    min_size_bytes: int = 1024 * 1024,
    threshold_pct: float = 30.0,
) -> dict[str, Any]:
    """Measure bloat with the chosen method; return tables, indexes and over_threshold (by bloat_bytes)."""
    if method not in METHODS:
        raise PostgresError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    ext_schema = None
    if method in ("exact", "hybrid"):
        ext_schema = pgstattuple_schema(conn)
        if ext_schema is None:
            raise PostgresError(
                f"method={method} needs the pgstattuple extension in database {conn.info.dbname!r}: "
                "run CREATE EXTENSION pgstattuple; there (it ships with PostgreSQL's contrib package), "
                "or use method=estimate"
            )
    params = {
        "system": SYSTEM_SCHEMAS,
        "schemas": schemas or None,
        "exclude_schemas": exclude_schemas or [],
        "tables": tables or None,
    }
    try:
        widths = WIDTHS_FROM_PG_STATISTIC if can_read_pg_statistic(conn) else WIDTHS_FROM_PG_STATS
        table_rows = fetch_dicts(conn, TABLE_INPUTS_SQL.replace("{widths}", widths), params)
        index_sql = INDEX_INPUTS_SQL.replace("{widths}", widths)
        index_rows = fetch_dicts(conn, index_sql, params) if include_indexes else []
    except psycopg2.Error as exc:
        raise database_error(exc, "reading table statistics") from None
    oids: dict[int, dict[str, Any]] = {}
    table_entries, index_entries = [], []
    for row in table_rows:
        entry = table_entry(row)
        table_entries.append(entry)
        oids[int(row["oid"])] = _oid_info(entry, row)
    for row in index_rows:
        entry = index_entry(row)
        index_entries.append(entry)
        oids[int(row["oid"])] = _oid_info(entry, row)
    everything = table_entries + index_entries
    if method == "exact":
        measure_exact(conn, ext_schema, everything, oids)
    elif method == "hybrid":
        candidates = [e for e in everything if needs_confirmation(e, threshold_pct, min_size_bytes)]
        measure_exact(conn, ext_schema, candidates, oids)
    over = sorted(
        (e for e in everything if is_over(e, threshold_pct, min_size_bytes)),
        key=lambda e: e["bloat_bytes"],
        reverse=True,
    )
    return {"method": method, "tables": table_entries, "indexes": index_entries, "over_threshold": over}
