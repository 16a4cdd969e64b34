"""Platform `logs` and `history` with the same contract on all three platforms, each against its test backend:
Kubernetes on the API double (pods/log, ReplicaSets), ECS on moto (CloudWatch Logs, task definitions), Compose on
the docker CLI double (`docker compose logs`, the platform role's deploy record).

Each test runs both operations in one play (ops.yml) to keep the added test time small.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness.ansible_run import run_playbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "compose"))
sys.path.insert(0, str(HERE.parent / "k8s"))
from compose_platform import services as compose_services
from compose_platform import start_project
from k8s_double.server import K8sDouble
from k8s_platform import NAMESPACE, Double, deployment
from k8s_platform import services as k8s_services

PLAYBOOK = HERE / "ops.yml"
CONTRACT = {"changed", "check_mode", "service", "platform", "operation", "source", "detail"}


def log_lines(count: int = 6, old: int = 2) -> list[str]:
    """JSON lines like the API's: `old` of them from two hours ago, the rest from now, the last one an ERROR."""
    now = datetime.now(UTC)
    lines = []
    for n in range(count):
        at = now - timedelta(hours=2) if n < old else now
        level = "ERROR" if n == count - 1 else "INFO"
        lines.append(json.dumps({"ts": at.isoformat(), "level": level, "endpoint": "/api/v1/messages", "n": n}))
    return lines


def run_ops(extra: dict, env: dict | None = None, check: bool = False) -> dict:
    extra = {"platform_ops": ["logs", "history"], "platform_logs_tail": 3, "platform_logs_since": "30m", **extra}
    run = run_playbook(PLAYBOOK, extra_vars=extra, env=env, check=check)
    assert run.rc == 0, run.output[-3000:]
    return [t for t in run.tasks if t.task == "Platform results"][-1]["platform_results"]


def assert_contract(results: dict, platform: str) -> None:
    logs, history = results["logs"], results["history"]
    assert CONTRACT | {"lines"} <= set(logs) and CONTRACT | {"releases"} <= set(history)
    for result in (logs, history):
        assert (result["platform"], result["service"], result["changed"]) == (platform, "api", False)
    # the time window drops the two old lines, the tail keeps the newest three, oldest first
    assert [json.loads(line)["n"] for line in logs["lines"]] == [3, 4, 5]


def test_kubernetes_logs_by_label_and_replicaset_history(tmp_path):
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    (logs_dir / "api.log").write_text("\n".join(log_lines()) + "\n")
    with K8sDouble(ready_delay=0.1, deadline_scale=0.005) as server:
        server.cluster.logs_dir = logs_dir
        k8s = Double(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        k8s.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        k8s.create(deployment(image="stratum/api:1.0.0"))
        k8s.wait_complete()
        # another Deployment with the same labels: its ReplicaSets are not this service's history
        k8s.create(deployment(name="stratum-api-canary", image="stratum/api:9.9.9"))
        time.sleep(1.1)  # creationTimestamp has one-second resolution
        k8s.request(
            "PATCH",
            f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/stratum-api",
            {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "stratum/api:1.1.0"}]}}}},
            "application/strategic-merge-patch+json",
        )
        k8s.wait_complete()
        extra = {
            "stratum_platform": "kubernetes",
            "stratum_services": k8s_services(),
            "stratum_kubernetes": {"kubeconfig": str(k8s.kubeconfig)},
        }
        results = run_ops(extra)
    assert_contract(results, "kubernetes")
    assert results["logs"]["source"] == "k8s_log production/stratum-api (api)"
    releases = results["history"]["releases"]
    assert [(r["revision"], r["version"], r["current"]) for r in releases] == [
        ("2", "1.1.0", True),
        ("1", "1.0.0", False),
    ]
    assert releases[0]["time"] > releases[1]["time"]


@pytest.fixture
def ecs_service(moto):
    moto.reset()
    ecs, logs = moto.client("ecs"), moto.client("logs")
    ecs.create_cluster(clusterName="stratum-logs")
    for tag in ("1.0.0", "1.1.0"):
        ecs.register_task_definition(
            family="stratum-api",
            containerDefinitions=[
                {
                    "name": "api",
                    "image": f"stratum/api:{tag}",
                    "memory": 128,
                    "environment": [{"name": "K", "value": "s3cr3t"}],
                }
            ],
        )
    ecs.create_service(
        cluster="stratum-logs", serviceName="stratum-api", taskDefinition="stratum-api:2", desiredCount=1
    )
    logs.create_log_group(logGroupName="/ecs/stratum-api")
    for stream in ("api/api/task-1", "other/sidecar/task-1"):
        logs.create_log_stream(logGroupName="/ecs/stratum-api", logStreamName=stream)
    lines = log_lines()
    events = [
        {"timestamp": int(datetime.fromisoformat(json.loads(line)["ts"]).timestamp() * 1000), "message": line}
        for line in lines
    ]
    logs.put_log_events(logGroupName="/ecs/stratum-api", logStreamName="api/api/task-1", logEvents=events)
    noise = [{"timestamp": int(time.time() * 1000), "message": "sidecar noise"}]
    logs.put_log_events(logGroupName="/ecs/stratum-api", logStreamName="other/sidecar/task-1", logEvents=noise)
    return moto


def test_ecs_cloudwatch_logs_and_task_definition_history(ecs_service):
    moto = ecs_service
    extra = {
        "stratum_platform": "ecs",
        "stratum_services": {
            "api": {
                "ecs": {
                    "cluster": "stratum-logs",
                    "service": "stratum-api",
                    "container": "api",
                    "log_stream_prefix": "api/",
                },
                "image": "stratum/api",
            }
        },
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
    }
    results = run_ops(extra, env=moto.env)
    assert_contract(results, "ecs")
    assert results["logs"]["source"] == "cloudwatch logs /ecs/stratum-api"
    releases = results["history"]["releases"]
    assert [(r["revision"], r["version"], r["current"]) for r in releases] == [
        ("stratum-api:2", "1.1.0", True),
        ("stratum-api:1", "1.0.0", False),
    ]
    assert releases[0]["time"]  # the service's deployment started with revision 2
    assert "s3cr3t" not in json.dumps(results)


def test_compose_logs_and_deploy_record_history(tmp_path):
    compose = start_project(tmp_path, {"api.env": "LOG_LEVEL=info\n"})
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    (logs_dir / "api.log").write_text("\n".join(log_lines()) + "\n")
    env = {**compose.env, "STRATUM_DOCKER_DOUBLE_LOGS": str(logs_dir)}
    extra = {"stratum_platform": "compose", "stratum_services": compose_services(str(compose.dir))}
    extra_deploy = {**extra, "platform_ops": ["deploy", "logs", "history"], "platform_version": "1.1.0"}
    results = run_ops(extra_deploy, env=env)
    assert results["deploy"]["version"] == "1.1.0"
    assert_contract(results, "compose")
    assert results["logs"]["source"] == f"docker compose logs {compose.dir}:api"
    releases = results["history"]["releases"]
    assert [(r["version"], r["current"]) for r in releases] == [("1.1.0", True), ("1.0.0", False)]
    deployed = datetime.fromisoformat(releases[0]["time"])
    assert abs((datetime.now(UTC) - deployed).total_seconds()) < 300
    assert any(call[-2:] == ["--", "api"] and "logs" in call for call in compose.calls())
