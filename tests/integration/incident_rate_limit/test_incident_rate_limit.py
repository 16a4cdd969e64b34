"""incident_rate_limit through ansible-playbook: a real password-protected Redis, the sandbox API with a real
Prometheus scraping it, and the Compose platform on the fake docker CLI (tests/compose_double), whose
`docker compose logs api` prints the sandbox API's log lines.

Each test starts from a fresh Compose project and a flushed Redis, so the tests hold in any order and on any
pytest-xdist worker; the Redis server, the API (Meta at 93 %, tenant t-42 flooding rate_limit lines) and
Prometheus are shared by the module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness import servers
from harness.ansible_run import REPO, assert_clean_failure, run_playbook
from harness.prometheus import prometheus_server, sandbox_api

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compose"))
from compose_platform import start_project

PLAYBOOK = REPO / "playbooks" / "incident_rate_limit.yml"
PASSWORD = "rate-Limit-Pw-4471"
QUEUE = "batch:meta:pending"
PAUSE = "pause:low_priority_sync"
ALL_ACTIONS = ["throttle", "batch_size", "pause_low_priority"]
# Workers read their own env file, so a changed batch size reaches (and recreates) their containers.
COMPOSE_FILE = """\
services:
  api:
    image: "stratum/api:${STRATUM_API_TAG:-latest}"
    env_file: [api.env]
  workers:
    image: "stratum/workers:${STRATUM_WORKERS_TAG:-latest}"
    env_file: [workers.env]
"""


@pytest.fixture(scope="module")
def redis_pw():
    with servers.redis_server(password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def prometheus():
    """The API with Meta's quota at 93 % and tenant t-42 behind most of its rate_limit lines, scraped every second."""
    with sandbox_api() as api, prometheus_server([api.target]) as prom:
        api.faults({"rate_limit": {"platform": "meta", "usage": 0.93, "tenant_id": "t-42", "lines": 60}})
        prom.wait_for_samples('integration_rate_limit_usage{platform="meta"} == 0.93')
        prom.api_log_dir = str(api.workdir)
        yield prom


@pytest.fixture
def backends(redis_pw, prometheus, tmp_path):
    """37 pending batches, no pause; api and workers running in a fresh Compose project."""
    client = redis_pw.client()
    client.flushall()
    client.rpush(QUEUE, *[f"batch-{i}" for i in range(37)])
    compose = start_project(
        tmp_path, {"api.env": "LOG_LEVEL=info\n", "workers.env": "CAPI_BATCH_SIZE=200\n"}, compose_file=COMPOSE_FILE
    )
    return SimpleNamespace(redis=redis_pw, client=client, prometheus=prometheus, compose=compose)


def play(b, check=False, verbosity=0, redis_url=None, extra_env=None, **extra):
    project = str(b.compose.dir)
    extra_vars = {
        "stratum_platform": "compose",
        "stratum_services": {
            "api": {
                "compose": {"project_src": project, "service": "api", "env_file": "api.env"},
                "image": "stratum/api",
            },
            "workers": {
                "compose": {"project_src": project, "service": "workers", "env_file": "workers.env"},
                "image": "stratum/workers",
            },
        },
        "incident_rate_limit_prometheus_url": b.prometheus.url,
        "incident_rate_limit_url": redis_url or f"redis://{b.redis.host}:{b.redis.port}/0",
        "platform_wait_timeout": 30,
        **extra,
    }
    # The password arrives as on-call's AWX credential does: REDIS_PASSWORD in the environment.
    env = {**b.compose.env, "REDIS_PASSWORD": PASSWORD, "STRATUM_DOCKER_DOUBLE_LOGS": b.prometheus.api_log_dir}
    env.update(extra_env or {})
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, verbosity=verbosity, env=env)


def env_file(b, name: str) -> dict[str, str]:
    lines = (b.compose.dir / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def state(b) -> dict:
    """Everything the actions could change: env files, the containers (recreated on a change) and Redis."""
    return {
        "api.env": env_file(b, "api.env"),
        "workers.env": env_file(b, "workers.env"),
        "containers": [(c["id"], c["config_hash"]) for s in ("api", "workers") for c in b.compose.containers(s)],
        "pause": b.client.exists(PAUSE),
        "queue": b.client.llen(QUEUE),
    }


def assert_reraised_after_the_report(failed: list) -> None:
    """One failing step; after the run's report the role fails once more naming that step (one report on every run)."""
    assert len(failed) <= 2, [t.task for t in failed]
    if len(failed) == 2:
        assert "the report is in stratum_report" in str(failed[1].get("msg", "")), failed[1].result


def report(run) -> dict:
    assert run.rc == 0, run.output[-3000:]
    return run.custom_stats["_run"]["incident_rate_limit_report"]


def test_triage_and_check_mode_report_everything_and_change_nothing(backends):
    before = state(backends)

    triage = report(play(backends))
    assert triage["usage"] == 0.93
    assert triage["usage_by_platform"] == {"meta": 0.93, "google": 0.2, "tiktok": 0.2}
    assert triage["threshold"] == 0.8
    assert triage["over_threshold"] is True
    # the flood of rate_limit lines puts t-42 first, counted from `docker compose logs api`
    tenants = triage["tenants_from_logs"]
    # (the background traffic's other tenants may have no line in the tail window: then t-42 is alone)
    assert tenants[0]["tenant_id"] == "t-42", tenants
    assert len(tenants) == 1 or tenants[0]["lines"] > 2 * tenants[1]["lines"], tenants
    assert triage["logs"]["source"].startswith("docker compose logs") and triage["logs"]["error"] is None
    # the API exports no per-tenant metric: that query's empty answer is reported, not fatal
    assert triage["tenants"] == []
    assert [(e["name"], e["reason"]) for e in triage["prometheus_errors"]] == [("tenants", "empty")]
    assert triage["queue_depth"] == 37
    assert triage["paused"] is False
    assert triage["recommended"] == ALL_ACTIONS
    assert triage["done"] == {}
    assert "meta rate limit usage 93.0% (warn at 80.0%)" in triage["summary"]
    assert "batch:meta:pending: 37 pending" in triage["summary"]
    assert state(backends) == before

    # Another platform: its own label, queue and throttle variable (the platform layer names the key it would set).
    would = play(
        backends,
        check=True,
        incident_rate_limit_platform="google_ads",
        incident_rate_limit_buffer=0.35,
        incident_rate_limit_actions=ALL_ACTIONS,
    )
    would_report = report(would)
    assert would_report["done"] == {"throttle": True, "batch_size": True, "pause_low_priority": True}
    assert would_report["changes"] == {
        "throttle": "api: GOOGLE_ADS_RATE_LIMIT_BUFFER=0.35",
        "batch_size": "workers: CAPI_BATCH_SIZE=1000",
        "pause_low_priority": "redis: pause:low_priority_sync=true for 3600 s unless set",
    }
    set_env = [t["ansible_facts"]["platform_result"] for t in would.tasks if t.task.endswith("result of set_env")]
    assert [r["changed_keys"] for r in set_env] == [["GOOGLE_ADS_RATE_LIMIT_BUFFER"], ["CAPI_BATCH_SIZE"]]
    assert would_report["queue_key"] == "batch:google_ads:pending"
    assert would_report["queue_depth"] == 0
    assert would_report["usage"] is None  # the API reports no google_ads usage
    assert would_report["over_threshold"] is None
    unanswered = {e["name"]: e for e in would_report["prometheus_errors"]}
    assert unanswered["usage"]["query"] == 'integration_rate_limit_usage{platform="google_ads"}'
    assert unanswered["usage"]["reason"] == "empty"
    assert "check mode, would do: throttle, batch_size, pause_low_priority" in would_report["summary"]
    assert state(backends) == before


def test_actions_apply_once_and_the_password_never_shows(backends):
    before = state(backends)

    # -vvv with module arguments in the results, as ansible-core < 2.21 always had them.
    first = play(
        backends,
        verbosity=3,
        extra_env={"ANSIBLE_INJECT_INVOCATION": "True"},
        incident_rate_limit_actions=ALL_ACTIONS,
    )
    assert report(first)["done"] == {"throttle": True, "batch_size": True, "pause_low_priority": True}
    after = state(backends)
    assert after["api.env"] == {"LOG_LEVEL": "info", "META_RATE_LIMIT_BUFFER": "0.2"}
    assert after["workers.env"] == {"CAPI_BATCH_SIZE": "1000"}
    # Every container was recreated with the new environment.
    assert not set(after["containers"]) & set(before["containers"])
    assert backends.client.get(PAUSE) == b"true"
    assert 3000 <= backends.client.ttl(PAUSE) <= 3600  # about an hour (a loaded machine takes a while to finish)
    assert after["queue"] == 37
    # The Redis modules' arguments were printed, the password masked.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in first.output
    assert PASSWORD not in first.output

    # A running pause is neither overwritten nor prolonged by a second run.
    # 600 s, far below the 3600 a new pause would get, so a slow machine cannot let it expire mid-run
    backends.client.expire(PAUSE, 600)
    second = play(backends, incident_rate_limit_actions=ALL_ACTIONS)
    assert second.stats["localhost"]["changed"] == 0
    assert report(second)["done"] == {"throttle": False, "batch_size": False, "pause_low_priority": False}
    assert report(second)["paused"] is True
    assert report(second)["recommended"] == ["throttle", "batch_size"]
    assert state(backends) == after
    assert backends.client.ttl(PAUSE) <= 600


def test_redis_down_fails_with_a_clear_message(backends):
    before = state(backends)
    run = play(
        backends,
        redis_url=f"redis://127.0.0.1:{servers.free_port()}/0",
        incident_rate_limit_prometheus_url="",
        incident_rate_limit_actions=ALL_ACTIONS,
    )
    assert run.rc != 0
    failed = run.failed_tasks()
    assert_clean_failure(failed[0], "cannot connect to Redis at 127.0.0.1")
    assert_reraised_after_the_report(failed)
    assert state(backends) == before


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"incident_rate_limit_actions": ["delete_everything"]}, "incident_rate_limit_actions"),
        ({"incident_rate_limit_warn_threshold": 80}, "warn_threshold is a fraction of the quota"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(backends, bad, expected):
    run = play(backends, **bad)
    assert run.rc != 0
    failed = run.failed_tasks()
    assert_clean_failure(failed[0], expected)
    assert_reraised_after_the_report(failed)
    # nothing read Redis or Prometheus (the notify role's skipped Slack task is no query)
    readers = ("redis_key_info", "prometheus_query_info")
    assert not [t for t in run.tasks if t.status != "skipped" and any(r in t.action for r in readers)]
