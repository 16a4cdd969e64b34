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
    # Autovacuum would clean the dead rows behind the test's back on a slow machine.
    run_sql(
        conn,
        sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, payload text, n int) WITH (autovacuum_enabled = false)").format(
            ident
        ),
    )
    run_sql(
        conn,
        sql.SQL("INSERT INTO {} SELECT g, repeat('x', 120), g FROM generate_series(1, %s) g").format(ident),
        (rows,),
    )
    run_sql(conn, sql.SQL("ANALYZE {}").format(ident))
    run_sql(conn, sql.SQL("DELETE FROM {} WHERE id %% 100 < %s").format(ident), (delete_pct,))


def make_healthy_table(conn, name: str, rows: int = 30000, schema: str = "public") -> None:
    ident = sql.Identifier(schema, name)
    run_sql(conn, sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, payload text)").format(ident))
    run_sql(conn, sql.SQL("INSERT INTO {} SELECT g, md5(g::text) FROM generate_series(1, %s) g").format(ident), (rows,))
    run_sql(conn, sql.SQL("ANALYZE {}").format(ident))


def create_role(conn, name: str, password: str) -> None:
    """A login role with a password (and CONNECT on postgres, which PUBLIC has anyway)."""
    run_sql(conn, sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(name)), (password,))


_PENDING: list = []


def start_async(
    server, statement: str, user: str | None = None, password: str | None = None, application_name: str = "test"
):
    """Send a statement on a new asynchronous connection and return without waiting for it (it may block)."""
    import psycopg2
    import psycopg2.extras

    conn = server.connect(user=user, password=password, async_=1, application_name=application_name)
    psycopg2.extras.wait_select(conn)
    cursor = conn.cursor()
    cursor.execute(statement)
    conn.poll()  # make sure the statement left the client buffer
    _PENDING.append(cursor)  # keep it alive while the statement runs
    return conn


def backend_pid(conn) -> int:
    return conn.get_backend_pid()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.1) -> bool:
    """Poll until predicate() is true (e.g. a terminated backend has exited); False on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
