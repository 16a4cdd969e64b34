"""Right host, no silent defaults, complete inventories (issue 11 items 1-3), through ansible-playbook.

- every playbook checks for a stratum inventory first: a missing or mistyped one exits non-zero naming it;
- every playbook x inventory: each endpoint each runbook reads is set (nothing left to a default);
- a runbook whose required endpoint is missing stops before its first step naming the variable, and
  no backend is touched (a throwaway Redis behind REDIS_URL / CELERY_BROKER_URL sees zero commands);
- in a Compose-like inventory the steps run on the app host (a second host name), with its ports.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.stratum.ops.plugins.module_utils.preflight import RUNBOOKS
from harness import servers
from harness.ansible_run import REPO, ansible_env, run_playbook

HERE = Path(__file__).resolve().parent
PLAYBOOKS = REPO / "playbooks"
INVENTORIES = REPO / "inventories"

# README "Where each step runs": group -> the host runbook steps run on, per environment.
WHERE = {
    "production": {
        "stratum_control": ["localhost"],
        "app_hosts": ["app-1.prod.stratum.internal", "app-2.prod.stratum.internal"],
    },
    "staging": {"stratum_control": ["app-1.staging.stratum.internal"], "app_hosts": ["app-1.staging.stratum.internal"]},
    "development": {"stratum_control": ["localhost"], "app_hosts": ["localhost"]},
    "local": {"stratum_control": ["localhost"], "app_hosts": ["localhost"]},
}

# The environment `scripts/demo.py env` exports for inventories/local, with ports that are nobody's default.
LOCAL_ENV = {
    "STRATUM_LOCAL_API_URL": "http://127.0.0.1:18000",
    "STRATUM_LOCAL_AWS_ENDPOINT": "http://127.0.0.1:15000",
    "STRATUM_LOCAL_AWS_REGION": "us-east-1",
    "STRATUM_LOCAL_PGHOST": "127.0.0.1",
    "STRATUM_LOCAL_PGPORT": "15432",
    "STRATUM_LOCAL_PGDATABASE": "stratum",
    "STRATUM_LOCAL_PGUSER": "postgres",
    "STRATUM_LOCAL_REDIS_URL": "redis://127.0.0.1:16379/0",
    "STRATUM_LOCAL_BROKER_URL": "redis://127.0.0.1:16379/1",
    "STRATUM_LOCAL_PROMETHEUS_URL": "http://127.0.0.1:19090",
    "STRATUM_LOCAL_LOG_DIR": "/tmp/stratum-local-logs",
    "STRATUM_LOCAL_AUDIT_LOG": "/tmp/stratum-local-audit.jsonl",
}
# The webhook URL is a secret from the environment / AWX in every environment.
SECRET_ENV = {
    "STRATUM_SLACK_WEBHOOK_URL": "https://hooks.example.test/services/T0/B0/not-a-real-path",
    "DATABASE_URL": "postgresql://stratum:not-a-real-pw@db.example.test:25432/stratum",
}
# Compose databases are containers: these inventories set rds_instance: "" (and db_migration_snapshot: false).
NOT_APPLICABLE = {"staging": {"rds_instance"}, "development": {"rds_instance"}}
LIBRARY_DEFAULTS = (":6379", ":5432", ":5672", ":9090", ":8000", ":5000")


def inventory_listing(inventory: Path, env: dict[str, str]) -> dict:
    """`ansible-inventory --list`: groups and every host's inventory variables (untemplated)."""
    proc = subprocess.run(
        [str(Path(ansible_env()["PATH"].split(":")[0]) / "ansible-inventory"), "-i", str(inventory), "--list"],
        env=ansible_env(env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def groups_of(listing: dict) -> dict[str, list[str]]:
    return {group: sorted(listing.get(group, {}).get("hosts", [])) for group in ("stratum_control", "app_hosts")}


def walk(inventory: Path, runbooks: list[str], env: dict[str, str], tmp_path: Path):
    """Resolve each runbook's endpoints on its runbook host, as its playbook's preflight would.

    The runbook roles' defaults go in as play vars, minus every variable the inventory sets for that
    host: so the inventory wins exactly as over role defaults in the real play. Nothing connects.
    """
    listing = inventory_listing(inventory, env)
    plays = []
    for group in sorted({RUNBOOKS[r].group for r in runbooks}):
        mine = [r for r in runbooks if RUNBOOKS[r].group == group]
        host = groups_of(listing)[group][0]
        defaults: dict = {}
        for runbook in mine:
            defaults.update(yaml.safe_load((REPO / "roles" / runbook / "defaults" / "main.yml").read_text()) or {})
        inventory_vars = listing["_meta"]["hostvars"].get(host, {})
        plays.append(
            {
                "name": f"walk {group}",
                "hosts": host,
                "gather_facts": False,
                "vars": {k: v for k, v in defaults.items() if k not in inventory_vars},
                "tasks": [
                    {
                        "name": "endpoints of every runbook",
                        "ansible.builtin.set_stats": {
                            "data": {f"walk_{r}": f"{{{{ lookup('stratum.ops.preflight', '{r}') }}}}" for r in mine},
                            "per_host": True,
                        },
                    }
                ],
            }
        )
    playbook = tmp_path / "walk.yml"
    playbook.write_text(json.dumps(plays))
    return run_playbook(playbook, inventory=inventory, env=env), groups_of(listing)


# ------------------------------------------------------------------------- every playbook's shape
@pytest.mark.parametrize("playbook", sorted(p.name for p in PLAYBOOKS.glob("*.yml")))
def test_playbook_checks_the_inventory_then_runs_on_the_runbook_group(playbook):
    plays = yaml.safe_load((PLAYBOOKS / playbook).read_text())
    runbook = playbook.removesuffix(".yml")
    check, main = plays[0], plays[-1]
    assert check["hosts"] == "localhost"  # present even when the inventory is missing (implicit localhost)
    assert check["roles"] == [
        {"role": "stratum.ops.preflight", "preflight_runbook": runbook, "preflight_stage": "inventory"}
    ]
    assert main["hosts"] == RUNBOOKS[runbook].group
    assert main["roles"][0] == {"role": "stratum.ops.preflight", "preflight_runbook": runbook}
    assert main["roles"][-1]["role"] == f"stratum.ops.{runbook}"


# ------------------------------------------------------------------------- playbook x inventory walk
@pytest.mark.parametrize("environment", sorted(WHERE))
def test_every_runbook_endpoint_is_set_by_the_inventory(environment, tmp_path):
    env = {**SECRET_ENV, **(LOCAL_ENV if environment == "local" else {})}
    inventory = INVENTORIES / environment
    run, groups = walk(inventory, sorted(RUNBOOKS), env, tmp_path)
    assert groups == WHERE[environment]
    assert run.rc == 0, run.output[-3000:]
    for runbook, spec in RUNBOOKS.items():
        host = WHERE[environment][spec.group][0]
        result = run.custom_stats[host][f"walk_{runbook}"]
        assert result["environment"] == environment
        assert result["errors"] == [], (environment, runbook, result["errors"])
        # Optional data sources too: no inventory leaves a section empty, unless it says so on purpose.
        opted_out = NOT_APPLICABLE.get(environment, set())
        assert set(result["not_configured"]) <= opted_out, (environment, runbook, result["not_configured"])
        expected = {e.name for e in spec.endpoints} | {"slack_webhook", "slack_channel", "audit_log"}
        assert set(result["endpoints"]) == expected - set(result["not_configured"])
        shown = json.dumps(result["endpoints"])
        assert "not-a-real-path" not in shown  # the webhook's secret path is never shown
        assert "not-a-real-pw" not in shown
        if environment == "local":
            # Every sandbox endpoint came from the sandbox's environment, none from a library default.
            assert not [d for d in LIBRARY_DEFAULTS if d in shown], (runbook, shown)


def test_local_inventory_without_the_sandbox_environment_names_the_variable(tmp_path, monkeypatch):
    for name in LOCAL_ENV:
        monkeypatch.delenv(name, raising=False)
    run, _walked = walk(INVENTORIES / "local", ["incident_redis_memory"], {}, tmp_path)
    assert run.rc == 0, run.output[-3000:]
    (error,) = run.custom_stats["localhost"]["walk_incident_redis_memory"]["errors"]
    assert "set stratum_redis.url" in error
    assert "STRATUM_LOCAL_REDIS_URL" in error  # the sandbox variable behind it, not a guessed 127.0.0.1:6379


# ------------------------------------------------------------------------- no inventory, no run
@pytest.fixture
def silent_redis():
    """A Redis behind REDIS_URL / CELERY_BROKER_URL: a silent fallback would send it commands."""
    with servers.redis_server() as server:
        yield server


def commands_seen(server) -> int:
    """Commands the server processed before this call, counted over one kept connection.

    Between two calls with nothing else talking to the server the difference is exactly 1 (the first INFO).
    """
    if not hasattr(server, "_counter"):
        server._counter = server.client()
        server._counter.ping()  # connect now: the client's own hello/setinfo commands happen before any count
    return int(server._counter.info("stats")["total_commands_processed"])


def fallback_env(server) -> dict[str, str]:
    return {
        "REDIS_URL": server.url,
        "CELERY_BROKER_URL": server.url.replace("/0", "/1"),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(servers.free_port()),  # nothing listens there
        "DATABASE_URL": "",
    }


def test_the_silent_redis_sees_what_a_fallback_would_send(silent_redis):
    import redis

    before = commands_seen(silent_redis)
    redis.Redis.from_url(fallback_env(silent_redis)["REDIS_URL"]).ping()
    assert commands_seen(silent_redis) - before > 1


# Every playbook starts with the same inventory-check play (test_playbook_checks_the_inventory_...): three
# playbooks prove what it does (a stratum_control one, the app_hosts one, a changing one).
@pytest.mark.parametrize("playbook", ["incident_redis_memory.yml", "log_cleanup.yml", "deploy.yml"])
def test_mistyped_inventory_fails_naming_it(playbook, silent_redis):
    before = commands_seen(silent_redis)
    run = run_playbook(PLAYBOOKS / playbook, inventory="inventories/prod", env=fallback_env(silent_redis))
    assert run.rc != 0, run.output[-2000:]
    (failed,) = run.failed_tasks()
    assert "stratum_environment is not set" in failed["msg"]
    assert "inventories/prod" in failed["msg"]
    assert commands_seen(silent_redis) - before == 1  # only our own INFO


def test_misspelt_inventory_does_not_triage_whatever_answers(silent_redis):
    before = commands_seen(silent_redis)
    run = run_playbook(
        PLAYBOOKS / "incident_redis_memory.yml", inventory="inventories/locl", env=fallback_env(silent_redis)
    )
    assert run.rc != 0
    assert "inventories/locl" in run.failed_tasks()[0]["msg"]
    assert commands_seen(silent_redis) - before == 1


# ------------------------------------------------------------------------- a missing endpoint stops the run
MISSING = {
    "db_maintenance": ({}, "stratum_postgres"),
    "incident_db_connections": ({}, "stratum_postgres"),
    "incident_redis_memory": ({}, "stratum_redis.url"),
    "incident_rate_limit": ({}, "stratum_redis.url"),
    "incident_celery_backlog": ({}, "stratum_celery.broker_url"),
    "log_cleanup": ({}, "stratum_logs.path"),
    "secret_rotation": ({}, "stratum_aws.region"),
    "deploy": ({"version": "1.2.3"}, "stratum_services.api.health_url"),
    "rollback": ({}, "stratum_services.api.health_url"),
    "predeploy_checklist": ({}, "stratum_services.api.health_url"),
    "db_migration": ({}, "DATABASE_URL"),
    "build": ({"version": "1.2.3"}, "stratum_registry"),
    "scaling": (
        {"scaling_actions": ["scale_database"], "scaling_db_instance_class": "db.r6g.large"},
        "stratum_database.rds_instance",
    ),
}


def test_every_runbook_with_a_required_endpoint_is_covered():
    required = {name for name, spec in RUNBOOKS.items() if any(e.required for e in spec.endpoints)}
    assert required == set(MISSING)


@pytest.mark.parametrize("runbook", sorted(MISSING))
def test_missing_endpoint_fails_before_the_first_step(runbook, silent_redis):
    extra, variable = MISSING[runbook]
    before = commands_seen(silent_redis)
    run = run_playbook(
        PLAYBOOKS / f"{runbook}.yml", inventory=HERE / "incomplete", extra_vars=extra, env=fallback_env(silent_redis)
    )
    assert run.rc != 0, run.output[-2000:]
    (failed,) = run.failed_tasks()
    assert f"set {variable}" in failed["msg"], failed["msg"]
    assert "preflight" in failed.task.lower()
    # Nothing of the runbook itself ran: every task so far was the preflight's.
    assert all("preflight" in t.task.lower() for t in run.tasks), [t.task for t in run.tasks]
    assert commands_seen(silent_redis) - before == 1


# ------------------------------------------------------------------------- steps run on the app host
@pytest.fixture(scope="module")
def app_backends():
    with servers.redis_server() as redis_server, servers.postgres_server() as pg:
        yield redis_server, pg


def hosts_of(run, task_suffix: str) -> set[str]:
    hosts = set()
    for line in run.results_text.splitlines():
        record = json.loads(line)
        if record.get("task", "").endswith(task_suffix):
            hosts.add(record["host"])
    return hosts


def test_runbook_steps_run_on_the_app_host_with_its_endpoints(app_backends):
    redis_server, pg = app_backends
    client = redis_server.client()
    client.flushall()
    client.set("wiring:probe", "x")
    env = {
        "WIRING_REDIS_URL": redis_server.url,
        "WIRING_BROKER_URL": redis_server.url.replace("/0", "/1"),
        "WIRING_PGPORT": str(pg.port),
        "PGPASSWORD": pg.password,
        # A fallback would pick these up; the run must use the inventory's instead.
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/1",
    }
    inventory = HERE / "apphost"

    redis_run = run_playbook(PLAYBOOKS / "incident_redis_memory.yml", inventory=inventory, env=env, verbosity=3)
    assert redis_run.rc == 0, redis_run.output[-3000:]
    assert hosts_of(redis_run, "Redis memory | read memory, biggest keys and namespaces") == {"app-test-1"}
    assert redis_run.custom_stats["_run"]["incident_redis_memory_report"]["keys_per_db"]["db0"]["keys"] == 1
    preflight = redis_run.task("Preflight | keep the endpoints for the report")["ansible_facts"]["stratum_preflight"]
    assert preflight["environment"] == "apphost-test"
    assert preflight["endpoints"]["redis"] == f"redis://127.0.0.1:{redis_server.port}/0"

    before = commands_seen(redis_server)
    celery_run = run_playbook(PLAYBOOKS / "incident_celery_backlog.yml", inventory=inventory, env=env, verbosity=3)
    assert celery_run.rc == 0, celery_run.output[-3000:]
    assert hosts_of(celery_run, "Celery backlog | read workers and queue depths") == {"app-test-1"}
    preflight = celery_run.task("Preflight | keep the endpoints for the report")["ansible_facts"]["stratum_preflight"]
    assert preflight["endpoints"]["broker"] == f"redis://127.0.0.1:{redis_server.port}/1"
    # The triage talked to the inventory's broker (CELERY_BROKER_URL points at a closed port).
    assert commands_seen(redis_server) - before > 1

    pg_run = run_playbook(PLAYBOOKS / "incident_db_connections.yml", inventory=inventory, env=env, verbosity=3)
    assert pg_run.rc == 0, pg_run.output[-3000:]
    pg_tasks = [t for t in pg_run.tasks if t.action.endswith("pg_activity_info")]
    assert pg_tasks, [t.task for t in pg_run.tasks]
    assert hosts_of(pg_run, pg_tasks[0].task.split(" : ")[-1]) == {"app-test-1"}
    preflight = pg_run.task("Preflight | keep the endpoints for the report")["ansible_facts"]["stratum_preflight"]
    assert preflight["endpoints"]["postgres"] == f"127.0.0.1:{pg.port}/postgres"
    # localhost only did the inventory check.
    assert set(pg_run.stats) == {"localhost", "app-test-1"}
    assert pg_run.stats["localhost"]["ok"] <= 4
