"""incident_high_error_rate actions through ansible-playbook on ECS (moto).

Triage from a real Prometheus, logs and history end to end is in test_triage_e2e.py; here Prometheus is
unreachable (a free port: reported per query, triage goes on) and a local HTTP server is the dependency that answers.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from harness.ansible_run import REPO, run_playbook
from harness.servers import free_port

PLAYBOOK = REPO / "playbooks" / "incident_high_error_rate.yml"
CLUSTER = "stratum-errors"


class Answers(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def dependency():
    """A dependency that answers (a real local HTTP server)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(moto):
    """stratum-api on its second revision (1.4.2); revision 1 ran 1.4.1."""
    moto.reset()
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    for tag in ("1.4.1", "1.4.2"):
        ecs.register_task_definition(
            family="stratum-api",
            containerDefinitions=[{"name": "api", "image": f"stratum/api:{tag}", "memory": 128, "environment": []}],
        )
    ecs.create_service(cluster=CLUSTER, serviceName="stratum-api", taskDefinition="stratum-api:2", desiredCount=0)
    ecs.update_service(cluster=CLUSTER, service="stratum-api", desiredCount=1)
    return moto


def play(moto, dependency, check=False, **extra):
    extra_vars = {
        "stratum_platform": "ecs",
        "stratum_services": {
            "api": {"ecs": {"cluster": CLUSTER, "service": "stratum-api", "container": "api"}, "image": "stratum/api"}
        },
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
        "incident_high_error_rate_prometheus_url": f"http://127.0.0.1:{free_port()}",
        "incident_high_error_rate_dependencies": [
            {"name": "answers", "url": f"{dependency}/ok"},
            {"name": "meta", "url": f"http://127.0.0.1:{free_port()}/v18.0/me"},
        ],
        "platform_poll_interval": 1,
        "platform_wait_timeout": 60,
        **extra,
    }
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, env=moto.env)


def service_state(moto) -> tuple[str, list]:
    ecs = moto.client("ecs")
    ref = ecs.describe_services(cluster=CLUSTER, services=["stratum-api"])["services"][0]["taskDefinition"]
    td = ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]
    return f"{td['family']}:{td['revision']}", td["containerDefinitions"][0].get("environment", [])


def test_triage_only_changes_nothing_and_names_the_dependency_down(aws, dependency):
    before = service_state(aws)
    run = play(aws, dependency)
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["incident_high_error_rate_report"]
    assert report["rollout"]["version"] == "1.4.2"
    assert report["dependencies_down"] == ["meta"]
    assert any(s.startswith("dependency down: meta") for s in report["suspects"])
    assert report["error_rate_pct"] is None and report["failing_endpoints"] == []
    unanswered = {e["name"]: e["reason"] for e in report["prometheus_errors"]}
    assert unanswered == dict.fromkeys(["error_ratio", "error_ratio_history", "top_endpoints"], "unreachable")
    assert all("api_requests_total" in e["query"] for e in report["prometheus_errors"])
    # the other sections still answer: rollout history from ECS, the logs' error (no log group) reported
    assert [r["version"] for r in report["history"]["releases"]] == ["1.4.2", "1.4.1"]
    assert "does not exist" in report["error_distribution"]["error"]
    assert service_state(aws) == before
    assert "Triage only" in run.stdout


def test_rollback_to_a_revision_then_second_run_changes_nothing(aws, dependency):
    run = play(aws, dependency, incident_high_error_rate_actions=["rollback"])
    assert run.rc == 0, run.output[-3000:]
    assert service_state(aws)[0] == "stratum-api:1"
    assert run.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"rollback": True}
    again = play(
        aws,
        dependency,
        incident_high_error_rate_actions=["rollback"],
        incident_high_error_rate_to_revision="stratum-api:1",
    )
    assert again.rc == 0, again.output[-3000:]
    assert again.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"rollback": False}
    assert service_state(aws)[0] == "stratum-api:1"


def test_bypass_circuit_breaker_sets_the_flag_once(aws, dependency):
    run = play(aws, dependency, incident_high_error_rate_actions=["bypass_circuit_breaker"])
    assert run.rc == 0, run.output[-3000:]
    revision, env = service_state(aws)
    assert {"name": "CIRCUIT_BREAKER_DISABLED", "value": "true"} in env
    again = play(aws, dependency, incident_high_error_rate_actions=["bypass_circuit_breaker"])
    assert again.rc == 0, again.output[-3000:]
    assert service_state(aws)[0] == revision
    assert again.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"bypass_circuit_breaker": False}


def test_check_mode_changes_nothing(aws, dependency):
    before = service_state(aws)
    run = play(
        aws,
        dependency,
        check=True,
        incident_high_error_rate_actions=["rollback", "bypass_circuit_breaker", "restart_api"],
    )
    assert run.rc == 0, run.output[-3000:]
    assert service_state(aws) == before


def test_unknown_action_is_refused(aws, dependency):
    run = play(aws, dependency, incident_high_error_rate_actions=["delete_everything"])
    assert run.rc != 0
    assert "incident_high_error_rate_actions" in run.failed_tasks()[0]["msg"]
