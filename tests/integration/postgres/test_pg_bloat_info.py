"""stratum.ops.pg_bloat_info against a real PostgreSQL with real bloat (rows deleted, not vacuumed)."""

from __future__ import annotations

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from pg_helpers import make_bloated_table, make_healthy_table, query, run_sql, unique
from psycopg2 import sql

MODULE = "stratum.ops.pg_bloat_info"


@pytest.fixture(scope="module")
def bloat_schema(postgres_server):
    """One schema with a bloated table, a healthy one and a tiny one; pgstattuple installed."""
    conn = postgres_server.connect()
    conn.autocommit = True
    run_sql(conn, "CREATE EXTENSION IF NOT EXISTS pgstattuple")
    run_sql(conn, "CREATE SCHEMA bloat_case")
    make_bloated_table(conn, "orders", rows=60000, delete_pct=60, schema="bloat_case")
    make_healthy_table(conn, "customers", rows=30000, schema="bloat_case")
    run_sql(conn, "CREATE TABLE bloat_case.tiny (id int, note text)")
    run_sql(conn, "INSERT INTO bloat_case.tiny SELECT g, 'n' FROM generate_series(1, 40) g")
    run_sql(conn, "ANALYZE bloat_case.tiny")
    run_sql(conn, "DELETE FROM bloat_case.tiny WHERE id > 2")
    conn.close()
    return "bloat_case"


def by_name(entries):
    return {e["name"]: e for e in entries}


@pytest.mark.parametrize("method", ["estimate", "exact", "hybrid"])
def test_real_bloat_is_found_and_healthy_table_is_not(postgres_server, bloat_schema, method):
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "method": method, "schemas": [bloat_schema], "min_size_bytes": 65536}
    )
    assert result.status == "ok", result.result
    assert not result.changed
    assert result["method"] == method
    tables = by_name(result["tables"])
    assert set(tables) == {"orders", "customers", "tiny"}
    orders = tables["orders"]
    assert 45 <= orders["bloat_pct"] <= 75, orders
    assert orders["dead_tuple_pct"] == pytest.approx(60, abs=2)
    assert orders["live_tuples"] == 24000
    assert tables["customers"]["bloat_pct"] < 10
    flagged = [e["name"] for e in result["over_threshold"]]
    assert flagged == ["orders"]
    assert orders["measured_by"] == ("estimate" if method == "estimate" else "exact")


def test_threshold_above_the_bloat_flags_nothing(postgres_server, bloat_schema):
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "schemas": [bloat_schema], "threshold_pct": 90, "min_size_bytes": 0}
    )
    assert result.status == "ok", result.result
    assert [e for e in result["over_threshold"] if e["name"] == "orders"] == []


def test_min_size_keeps_small_tables_out_of_over_threshold(postgres_server, bloat_schema):
    # The tiny table is almost all dead rows: exact measure says so, but it is one page.
    result, _run = run_module(
        MODULE,
        {
            **postgres_server.login_args(),
            "method": "exact",
            "tables": [f"{bloat_schema}.tiny", f"{bloat_schema}.orders"],
        },
    )
    assert result.status == "ok", result.result
    tiny = by_name(result["tables"])["tiny"]
    assert tiny["bloat_pct"] > 50 and tiny["size_bytes"] < 1048576
    assert [e["name"] for e in result["over_threshold"]] == ["orders"]
    low, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "method": "exact", "tables": [f"{bloat_schema}.tiny"], "min_size_bytes": 0},
    )
    assert [e["name"] for e in low["over_threshold"]] == ["tiny"]


def test_indexes_are_measured_when_asked(postgres_server, bloat_schema):
    result, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "schemas": [bloat_schema], "include_indexes": True, "min_size_bytes": 0},
    )
    assert result.status == "ok", result.result
    indexes = by_name(result["indexes"])
    assert indexes["orders_pkey"]["table"] == "orders"
    assert indexes["orders_pkey"]["kind"] == "index"
    assert indexes["orders_pkey"]["bloat_pct"] > indexes["customers_pkey"]["bloat_pct"]
    without, _run = run_module(MODULE, {**postgres_server.login_args(), "schemas": [bloat_schema]})
    assert without["indexes"] == []


def test_exclude_schemas_and_hostile_table_names_are_only_filters(postgres_server, pg, bloat_schema):
    hostile = "x'); DROP TABLE bloat_case.customers; --"
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "tables": [hostile, 'a"b;c'], "exclude_schemas": ["public"]}
    )
    assert result.status == "ok", result.result
    assert result["tables"] == []
    assert query(pg, "SELECT count(*) FROM bloat_case.customers")[0][0] == 30000


def test_exact_without_pgstattuple_names_the_extension(postgres_server, pg):
    db = unique("noext")
    run_sql(pg, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    for method in ("exact", "hybrid"):
        result, _run = run_module(MODULE, {**postgres_server.login_args(), "login_db": db, "method": method})
        assert_clean_failure(result, "pgstattuple", "CREATE EXTENSION", db)
    # estimate needs nothing extra
    ok, _run = run_module(MODULE, {**postgres_server.login_args(), "db": db})
    assert ok.status == "ok", ok.result


def test_check_mode_reports_the_same_and_changes_nothing(postgres_server, bloat_schema):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), "schemas": [bloat_schema]}, check=True)
    assert result.status == "ok", result.result
    assert [e["name"] for e in result["over_threshold"]] == ["orders"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"method": "guess"}, "method"),
        ({"threshold_pct": 150}, "threshold_pct"),
        ({"min_size_bytes": -1}, "min_size_bytes"),
    ],
)
def test_bad_input_fails_with_clear_message(postgres_server, args, fragment):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), **args})
    assert_clean_failure(result, fragment)


def test_unprivileged_role_estimates_from_pg_stats(postgres_server, pg, bloat_schema):
    # Not superuser: pg_statistic is closed, the pg_stats view (columns it may read) is used instead.
    role = unique("reader")
    run_sql(pg, sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'reader-pass'").format(sql.Identifier(role)))
    run_sql(pg, sql.SQL("GRANT USAGE ON SCHEMA bloat_case TO {}").format(sql.Identifier(role)))
    run_sql(pg, sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA bloat_case TO {}").format(sql.Identifier(role)))
    args = {**postgres_server.login_args(), "login_user": role, "login_password": "reader-pass"}
    result, _run = run_module(MODULE, {**args, "schemas": [bloat_schema], "min_size_bytes": 65536})
    assert result.status == "ok", result.result
    assert [e["name"] for e in result["over_threshold"]] == ["orders"]
    assert 45 <= by_name(result["tables"])["orders"]["bloat_pct"] <= 75
