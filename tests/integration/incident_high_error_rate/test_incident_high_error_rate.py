"""incident_high_error_rate through ansible-playbook: ECS on moto, and a Prometheus HTTP API test double."""

from __future__ import annotations

import pytest
from harness.ansible_run import REPO, run_playbook
from harness.prometheus_double import PrometheusDouble, Samples
from harness.servers import free_port

PLAYBOOK = REPO / "playbooks" / "incident_high_error_rate.yml"
CLUSTER = "stratum-errors"


def error_rate_answer(query: str) -> Samples:
    """12.5 % of requests fail; the topk query gets two failing endpoints."""
    if query.startswith("topk"):
        return [({"endpoint": "/api/v1/campaigns"}, 3.2), ({"endpoint": "/api/v1/capi/events"}, 1.1)]
    return [({}, 0.125)]


@pytest.fixture
def prometheus():
    with PrometheusDouble(error_rate_answer) as double:
        yield double


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


def play(moto, prometheus, check=False, **extra):
    extra_vars = {
        "stratum_platform": "ecs",
        "stratum_services": {
            "api": {"ecs": {"cluster": CLUSTER, "service": "stratum-api", "container": "api"}, "image": "stratum/api"}
        },
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
        "incident_high_error_rate_prometheus_url": prometheus.url,
        "incident_high_error_rate_dependencies": [
            {"name": "prometheus-ok", "url": f"{prometheus.url}/ok"},
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


def test_triage_reports_rate_endpoints_rollout_and_dependencies(aws, prometheus):
    before = service_state(aws)
    run = play(aws, prometheus)
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["incident_high_error_rate_report"]
    assert report["error_rate_pct"] == 12.5
    assert report["over_threshold"] is True
    assert [e["endpoint"] for e in report["failing_endpoints"]] == ["/api/v1/campaigns", "/api/v1/capi/events"]
    assert report["rollout"]["version"] == "1.4.2"
    assert report["dependencies_down"] == ["meta"]
    assert any(s.startswith("dependency down: meta") for s in report["suspects"])
    assert any('status_code=~"5.."' in q and "[5m]" in q for q in prometheus.queries)
    assert service_state(aws) == before
    assert "Triage only" in run.stdout


def test_rollback_to_a_revision_then_second_run_changes_nothing(aws, prometheus):
    run = play(aws, prometheus, incident_high_error_rate_actions=["rollback"])
    assert run.rc == 0, run.output[-3000:]
    assert service_state(aws)[0] == "stratum-api:1"
    assert run.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"rollback": True}
    again = play(
        aws,
        prometheus,
        incident_high_error_rate_actions=["rollback"],
        incident_high_error_rate_to_revision="stratum-api:1",
    )
    assert again.rc == 0, again.output[-3000:]
    assert again.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"rollback": False}
    assert service_state(aws)[0] == "stratum-api:1"


def test_bypass_circuit_breaker_sets_the_flag_once(aws, prometheus):
    run = play(aws, prometheus, incident_high_error_rate_actions=["bypass_circuit_breaker"])
    assert run.rc == 0, run.output[-3000:]
    revision, env = service_state(aws)
    assert {"name": "CIRCUIT_BREAKER_DISABLED", "value": "true"} in env
    again = play(aws, prometheus, incident_high_error_rate_actions=["bypass_circuit_breaker"])
    assert again.rc == 0, again.output[-3000:]
    assert service_state(aws)[0] == revision
    assert again.custom_stats["_run"]["incident_high_error_rate_report"]["done"] == {"bypass_circuit_breaker": False}


def test_check_mode_changes_nothing(aws, prometheus):
    before = service_state(aws)
    run = play(
        aws,
        prometheus,
        check=True,
        incident_high_error_rate_actions=["rollback", "bypass_circuit_breaker", "restart_api"],
    )
    assert run.rc == 0, run.output[-3000:]
    assert service_state(aws) == before


def test_unknown_action_is_refused(aws, prometheus):
    run = play(aws, prometheus, incident_high_error_rate_actions=["delete_everything"])
    assert run.rc != 0
    assert "incident_high_error_rate_actions" in run.failed_tasks()[0]["msg"]
