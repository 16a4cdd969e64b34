"""The runbook playbooks against a real PostgreSQL: inventory-style stratum_postgres + PGPASSWORD."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.ansible_run import run_playbook
from pg_helpers import create_role, make_bloated_table, query, run_sql, unique
from psycopg2 import sql

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"


def inventory_vars(server) -> dict:
    return {
        "stratum_postgres": {"host": server.host, "port": server.port, "user": server.user, "database": server.database}
    }


def test_connections_playbook_check_mode_lists_but_terminates_nothing(postgres_server, pg):
    role = unique("app")
    create_role(pg, role, "app-pass")
    idle = postgres_server.connect(user=role, password="app-pass")
    try:
        idle.autocommit = True
        idle.cursor().execute("SELECT 1")
        run = run_playbook(
            PLAYBOOKS / "incident_db_connections.yml",
            extra_vars={
                **inventory_vars(postgres_server),
                "incident_db_connections_actions": ["terminate_idle"],
                "incident_db_connections_usename": role,
                "incident_db_connections_idle_seconds": 0,
            },
            env={"PGPASSWORD": postgres_server.password},
            check=True,
            verbosity=3,
        )
        assert run.rc == 0, run.output[-3000:]
        report = run.custom_stats["_run"]["incident_db_connections_report"]
        assert [t["pid"] for t in report["terminated"]] == [idle.get_backend_pid()]
        assert report["by_usename"][role] == 1
        assert query(pg, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (idle.get_backend_pid(),)) == [(1,)]
        assert postgres_server.password not in run.output
    finally:
        idle.close()


def test_maintenance_playbook_triage_only_changes_nothing(postgres_server, pg):
    schema = unique("runbook")
    run_sql(pg, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    make_bloated_table(pg, "jobs", rows=40000, delete_pct=60, schema=schema)
    run = run_playbook(
        PLAYBOOKS / "db_maintenance.yml",
        extra_vars={**inventory_vars(postgres_server), "db_maintenance_schemas": [schema]},
        env={"PGPASSWORD": postgres_server.password},
    )
    assert run.rc == 0, run.output[-3000:]
    assert run.stats["localhost"]["changed"] == 0
    report = run.custom_stats["_run"]["db_maintenance_report"]
    assert [e["name"] for e in report["over_threshold"] if e["kind"] == "table"] == ["jobs"]
    assert report["vacuumed"] == [] and report["reindexed"] == []
    last_vacuum = query(pg, "SELECT last_vacuum FROM pg_stat_user_tables WHERE schemaname = %s", (schema,))
    assert last_vacuum == [(None,)]


def test_connections_platform_actions_go_through_the_platform_layer(postgres_server, tmp_path):
    # The Compose platform with the fake docker CLI (tests/compose_double) stands in for the cluster.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compose"))
    from compose_platform import services, start_project

    compose = start_project(tmp_path, {"api.env": "LOG_LEVEL=info\n"})

    run = run_playbook(
        PLAYBOOKS / "incident_db_connections.yml",
        extra_vars={
            **inventory_vars(postgres_server),
            "stratum_platform": "compose",
            "stratum_services": services(str(compose.dir)),
            "incident_db_connections_actions": ["scale_down_workers", "increase_pool_size", "restart_api"],
            "incident_db_connections_workers_replicas": 2,
            "incident_db_connections_pool_size": 25,
        },
        env={**compose.env, "PGPASSWORD": postgres_server.password},
    )
    assert run.rc == 0, run.output[-3000:]
    assert len(compose.containers("workers")) == 2
    assert "DATABASE_POOL_SIZE=25" in (compose.dir / "api.env").read_text()
    assert any("restart" in call for call in compose.calls())
    report = run.custom_stats["_run"]["incident_db_connections_report"]
    assert report["terminated"] == [] and report["total_after"] >= 1
