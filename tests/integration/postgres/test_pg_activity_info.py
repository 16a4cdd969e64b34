"""stratum.ops.pg_activity_info against real sessions: idle, idle in transaction, long-running, blocked."""

from __future__ import annotations

import contextlib

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from pg_helpers import create_role, run_sql, start_async, wait_until

MODULE = "stratum.ops.pg_activity_info"


@pytest.fixture
def busy_server(postgres_server, pg):
    """app_activity holds 3 idle sessions, 1 idle in transaction with a lock, a chain of 2 blocked, 1 sleeping."""
    create_role(pg, "app_activity", "app-pass")
    run_sql(pg, "CREATE TABLE activity_t (id int)")
    run_sql(pg, "GRANT ALL ON activity_t TO app_activity")
    opened = []

    def app_conn(**kw):
        conn = postgres_server.connect(user="app_activity", password="app-pass", application_name="stratum-api", **kw)
        opened.append(conn)
        return conn

    idle = [app_conn() for _attempt in range(3)]
    for conn in idle:
        conn.autocommit = True
        conn.cursor().execute("SELECT 1")
    holder = app_conn()
    holder.cursor().execute("LOCK TABLE activity_t IN ACCESS EXCLUSIVE MODE")  # left idle in transaction
    lock_waiter = start_async(
        postgres_server, "BEGIN; LOCK TABLE activity_t IN ACCESS EXCLUSIVE MODE", application_name="waiter"
    )
    reader = start_async(postgres_server, "SELECT count(*) FROM activity_t", application_name="reader")
    sleeper = start_async(postgres_server, "SELECT pg_sleep(60)", application_name="sleeper")
    opened += [lock_waiter, reader, sleeper]

    def waiting(pid):
        with pg.cursor() as cur:
            cur.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,))
            return cur.fetchone()[0]

    assert wait_until(lambda: waiting(reader.get_backend_pid()) and waiting(lock_waiter.get_backend_pid()))
    yield {
        "idle": [c.get_backend_pid() for c in idle],
        "holder": holder.get_backend_pid(),
        "lock_waiter": lock_waiter.get_backend_pid(),
        "reader": reader.get_backend_pid(),
        "sleeper": sleeper.get_backend_pid(),
    }
    for conn in opened:
        with contextlib.suppress(Exception):
            conn.cancel()
        with contextlib.suppress(Exception):
            conn.close()
    with pg.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = 'app_activity' OR application_name IN ('waiter', 'reader', 'sleeper')"
        )
    wait_until(lambda: not _sessions_left(pg))
    run_sql(pg, "DROP TABLE activity_t")
    run_sql(pg, "DROP ROLE app_activity")


def _sessions_left(pg) -> int:
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_activity'")
        return cur.fetchone()[0]


def test_reports_usage_counts_long_running_idle_tx_and_lock_chains(postgres_server, busy_server):
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "long_running_seconds": 0.5, "query_max_length": 12}
    )
    assert result.status == "ok", result.result
    assert not result.changed
    assert result["max_connections"] == 100
    assert result["total"] >= 9  # 4 app sessions, 3 async, the fixture's and the module's own
    assert result["usage_pct"] == pytest.approx(100.0 * result["total"] / 100)
    assert result["by_usename"]["app_activity"] == 4
    assert result["by_application_name"]["stratum-api"] == 4
    assert result["by_state"]["idle in transaction"] >= 1

    idle_tx = {s["pid"]: s for s in result["idle_in_transaction"]}
    assert busy_server["holder"] in idle_tx

    long_running = {s["pid"]: s for s in result["long_running"]}
    assert busy_server["sleeper"] in long_running
    assert long_running[busy_server["sleeper"]]["query"] == "SELECT pg_sl..."

    chains = {c["pid"]: c for c in result["blocked"]}
    assert chains[busy_server["lock_waiter"]]["chain"] == [busy_server["lock_waiter"], busy_server["holder"]]
    assert chains[busy_server["reader"]]["root_blocker"] == busy_server["holder"]
    assert chains[busy_server["reader"]]["root_blocker_state"] == "idle in transaction"
    assert busy_server["holder"] in chains[busy_server["reader"]]["chain"]


def test_check_mode_returns_the_same_report(postgres_server):
    result, _run = run_module(MODULE, postgres_server.login_args(), check=True)
    assert result.status == "ok", result.result
    assert result["total"] >= 1 and result["blocked"] == []


def test_negative_threshold_is_refused(postgres_server):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), "long_running_seconds": -1})
    assert_clean_failure(result, "long_running_seconds")
