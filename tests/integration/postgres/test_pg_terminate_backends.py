"""stratum.ops.pg_terminate_backends against real sessions opened by the test."""

from __future__ import annotations

import contextlib
import time

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from pg_helpers import create_role, run_sql, start_async, unique, wait_until

MODULE = "stratum.ops.pg_terminate_backends"


def alive(pg, pids) -> set[int]:
    with pg.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),))
        return {row[0] for row in cur.fetchall()}


@pytest.fixture
def sessions(postgres_server, pg):
    """3 idle sessions of the target role, 1 active one of it, and 1 idle session of another role."""
    target, other = unique("app_idle"), unique("app_other")
    create_role(pg, target, "t-pass")
    create_role(pg, other, "o-pass")
    opened = []

    def open_idle(user, password):
        conn = postgres_server.connect(user=user, password=password, application_name="stratum-api")
        conn.autocommit = True
        conn.cursor().execute("SELECT 1")
        opened.append(conn)
        return conn.get_backend_pid()

    idle = {open_idle(target, "t-pass") for _attempt in range(3)}
    other_idle = open_idle(other, "o-pass")
    active_conn = start_async(postgres_server, "SELECT pg_sleep(120)", user=target, password="t-pass")
    opened.append(active_conn)
    # Everything above must have been idle for more than the 1 s the tests ask for.
    time.sleep(1.2)
    yield {
        "target": target,
        "other": other,
        "idle": idle,
        "other_idle": other_idle,
        "active": active_conn.get_backend_pid(),
    }
    for conn in opened:
        with contextlib.suppress(Exception):
            conn.cancel()
        with contextlib.suppress(Exception):
            conn.close()


def test_check_mode_lists_idle_sessions_of_the_user_and_terminates_nothing(postgres_server, pg, sessions):
    every = sessions["idle"] | {sessions["other_idle"], sessions["active"]}
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 1}, check=True
    )
    assert result.status == "changed", result.result
    assert {t["pid"] for t in result["terminated"]} == sessions["idle"]
    assert result["count"] == 3
    assert all(t["state"] == "idle" and t["idle_seconds"] >= 1 for t in result["terminated"])
    assert alive(pg, every) == every


def test_terminates_only_the_users_sessions_idle_long_enough(postgres_server, pg, sessions):
    every = sessions["idle"] | {sessions["other_idle"], sessions["active"]}
    not_yet, _run = run_module(
        MODULE, {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 3600}
    )
    assert not_yet.status == "ok", not_yet.result
    assert not_yet["count"] == 0 and not not_yet.changed
    assert alive(pg, every) == every

    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 1}
    )
    assert result.status == "changed", result.result
    assert {t["pid"] for t in result["terminated"]} == sessions["idle"]
    assert all(t["usename"] == sessions["target"] for t in result["terminated"])
    assert wait_until(lambda: not alive(pg, sessions["idle"]))
    assert alive(pg, every) == {sessions["other_idle"], sessions["active"]}

    again, _run = run_module(MODULE, {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 1})
    assert again.status == "ok" and again["count"] == 0


def test_max_terminations_and_application_filter(postgres_server, pg, sessions):
    other_app, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 1, "application_name": "cron"},
    )
    assert other_app["count"] == 0
    capped, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "usename": sessions["target"], "idle_seconds": 1, "max_terminations": 2},
    )
    assert capped["count"] == 2
    assert wait_until(lambda: len(alive(pg, sessions["idle"])) == 1)


def test_all_users_never_lists_its_own_or_background_backends(postgres_server, pg):
    result, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "all_users": True, "states": ["idle", "active"], "idle_seconds": 0},
        check=True,
    )
    assert result.status in ("ok", "changed"), result.result
    pids = {t["pid"] for t in result["terminated"]}
    with pg.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")
        background = {row[0] for row in cur.fetchall()}
    assert background and not (pids & background)
    assert all(t["application_name"] != "stratum.ops" for t in result["terminated"])
    assert pg.get_backend_pid() in pids  # the test's own session is a fair target; the module's is not


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({}, "usename is required"),
        ({"usename": "x", "all_users": True}, "mutually exclusive"),
        ({"usename": "x", "states": ["sleeping"]}, "states"),
        ({"usename": "x", "idle_seconds": -5}, "idle_seconds"),
    ],
)
def test_bad_filters_fail_clearly(postgres_server, args, fragment):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), **args})
    assert_clean_failure(result, fragment)


def test_hostile_usename_is_a_value_not_sql(postgres_server, pg):
    run_sql(pg, "CREATE TABLE IF NOT EXISTS keep_me (id int)")
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "usename": "x' OR 1=1; DROP TABLE keep_me; --", "idle_seconds": 0}
    )
    assert result.status == "ok", result.result
    assert result["count"] == 0
    with pg.cursor() as cur:
        cur.execute("SELECT to_regclass('keep_me') IS NOT NULL")
        assert cur.fetchone()[0]
