"""incident_rate_limit through ansible-playbook: a real password-protected Redis, the Prometheus double and the
Compose platform on the fake docker CLI (tests/compose_double).

Each test starts from a fresh Compose project and a flushed Redis, so the tests hold in any order and on any
pytest-xdist worker; the Redis server and the Prometheus double are shared by the module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness import servers
from harness.ansible_run import REPO, assert_clean_failure, run_playbook
from harness.prometheus_double import PrometheusDouble, Samples

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


def rate_limit_answer(query: str) -> Samples:
    """Two apps use 62 % and 87 % of Meta's quota; three tenants, deliberately not in rate order."""
    if 'platform="meta"' not in query:
        return []
    if query.startswith("integration_rate_limit_usage"):
        return [({"platform": "meta", "app": "ads"}, 0.62), ({"platform": "meta", "app": "capi"}, 0.87)]
    if query.startswith("topk"):
        return [({"tenant_id": "t-small"}, 1.5), ({"tenant_id": "t-big"}, 42.0), ({"tenant_id": "t-mid"}, 7.25)]
    return []


@pytest.fixture(scope="module")
def redis_pw():
    with servers.redis_server(password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def prometheus():
    with PrometheusDouble(rate_limit_answer) as double:
        yield double


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
    env = {**b.compose.env, "REDIS_PASSWORD": PASSWORD, **(extra_env or {})}
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


def report(run) -> dict:
    assert run.rc == 0, run.output[-3000:]
    return run.custom_stats["_run"]["incident_rate_limit_report"]


def test_triage_and_check_mode_report_everything_and_change_nothing(backends):
    before = state(backends)

    triage = report(play(backends))
    assert triage["usage"] == 0.87  # the fullest app is what hits the limit first
    assert triage["threshold"] == 0.8
    assert triage["over_threshold"] is True
    assert triage["tenants"] == [
        {"tenant_id": "t-big", "rate": 42.0},
        {"tenant_id": "t-mid", "rate": 7.25},
        {"tenant_id": "t-small", "rate": 1.5},
    ]
    assert triage["queue_depth"] == 37
    assert triage["paused"] is False
    assert triage["recommended"] == ALL_ACTIONS
    assert triage["done"] == {}
    assert "meta rate limit usage 87.0% (warn at 80.0%)" in triage["summary"]
    assert "batch:meta:pending: 37 pending" in triage["summary"]
    assert 'integration_rate_limit_usage{platform="meta"}' in backends.prometheus.queries
    assert any(q.startswith("topk(5, sum by (tenant_id)") and "[5m]" in q for q in backends.prometheus.queries)
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
    assert would_report["usage"] is None  # the double has no series for google_ads
    assert would_report["over_threshold"] is None
    assert 'integration_rate_limit_usage{platform="google_ads"}' in backends.prometheus.queries
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
    assert 3590 <= backends.client.ttl(PAUSE) <= 3600
    assert after["queue"] == 37
    # The Redis modules' arguments were printed, the password masked.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in first.output
    assert PASSWORD not in first.output

    # A running pause is neither overwritten nor prolonged by a second run.
    backends.client.expire(PAUSE, 100)
    second = play(backends, incident_rate_limit_actions=ALL_ACTIONS)
    assert second.stats["localhost"]["changed"] == 0
    assert report(second)["done"] == {"throttle": False, "batch_size": False, "pause_low_priority": False}
    assert report(second)["paused"] is True
    assert report(second)["recommended"] == ["throttle", "batch_size"]
    assert state(backends) == after
    assert backends.client.ttl(PAUSE) <= 100


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
    assert len(failed) == 1
    assert_clean_failure(failed[0], "cannot connect to Redis at 127.0.0.1")
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
    assert len(failed) == 1
    assert_clean_failure(failed[0], expected)
    assert not [t for t in run.tasks if "redis_key_info" in t.action or t.action == "ansible.builtin.uri"]
