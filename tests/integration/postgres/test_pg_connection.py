"""The shared stratum.ops.postgres connection options: auth failures, secrets, PG* defaults, server down."""

from __future__ import annotations

import pytest
from harness import servers
from harness.ansible_run import assert_clean_failure, run_module

MODULES = {
    "stratum.ops.pg_activity_info": {},
    "stratum.ops.pg_bloat_info": {},
    "stratum.ops.pg_terminate_backends": {"usename": "nobody", "idle_seconds": 0},
    "stratum.ops.pg_maintenance": {"operation": "analyze", "objects": ["t"]},
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_wrong_password_fails_clearly_and_never_shows_it(postgres_server, module):
    wrong = "Wr0ng-Secret-zz91"
    args = {**postgres_server.login_args(), "login_password": wrong, **MODULES[module]}
    result, run = run_module(module, args, verbosity=3)
    assert_clean_failure(result, "cannot connect", "password authentication failed", "postgres@127.0.0.1")
    assert wrong not in run.output
    assert postgres_server.password not in run.output


def test_correct_password_is_not_shown_at_vvv(postgres_server):
    result, run = run_module(
        "stratum.ops.pg_terminate_backends",
        {**postgres_server.login_args(), "usename": "nobody", "idle_seconds": 0},
        verbosity=3,
    )
    assert result.status == "ok", result.result
    assert postgres_server.password not in run.output


def test_connection_defaults_come_from_pg_environment(postgres_server):
    env = {
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGUSER": postgres_server.user,
        "PGPASSWORD": postgres_server.password,
        "PGDATABASE": postgres_server.database,
    }
    result, run = run_module("stratum.ops.pg_activity_info", {}, env=env, verbosity=3)
    assert result.status == "ok", result.result
    assert result["total"] >= 1
    assert postgres_server.password not in run.output


def test_server_down_fails_clearly():
    port = servers.free_port()
    args = {"login_host": "127.0.0.1", "login_port": port, "login_password": "x", "connect_timeout": 3}
    result, _run = run_module("stratum.ops.pg_activity_info", args)
    assert_clean_failure(result, "cannot connect", str(port))
