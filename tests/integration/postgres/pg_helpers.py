"""Helpers for the stratum.ops PostgreSQL module tests: real tables with real bloat, statistics flushed."""

from __future__ import annotations

import uuid

from psycopg2 import sql


def run_sql(conn, statement, args=None) -> None:
    """Run one statement and push this session's table statistics out now (PostgreSQL 15 may hold them ~10 s)."""
    with conn.cursor() as cur:
        cur.execute(statement, args)
        cur.execute("SELECT pg_stat_force_next_flush()")


def query(conn, statement, args=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(statement, args)
        return cur.fetchall()


def unique(prefix: str) -> str:
    """A name no other test in this module uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def make_bloated_table(conn, name: str, rows: int = 60000, delete_pct: int = 60, schema: str = "public") -> None:
    """A real table with an index, analyzed, then with delete_pct % of its rows deleted (not vacuumed)."""
    ident = sql.Identifier(schema, name)
    run_sql(conn, sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, payload text, n int)").format(ident))
    run_sql(conn, sql.SQL("INSERT INTO {} SELECT g, repeat('x', 120), g FROM generate_series(1, %s) g").format(ident), (rows,))
    run_sql(conn, sql.SQL("ANALYZE {}").format(ident))
    run_sql(conn, sql.SQL("DELETE FROM {} WHERE id %% 100 < %s").format(ident), (delete_pct,))


def make_healthy_table(conn, name: str, rows: int = 30000, schema: str = "public") -> None:
    ident = sql.Identifier(schema, name)
    run_sql(conn, sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, payload text)").format(ident))
    run_sql(conn, sql.SQL("INSERT INTO {} SELECT g, md5(g::text) FROM generate_series(1, %s) g").format(ident), (rows,))
    run_sql(conn, sql.SQL("ANALYZE {}").format(ident))
