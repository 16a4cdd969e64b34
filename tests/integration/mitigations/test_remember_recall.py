"""remember / recall on Kubernetes (API double) and ECS (moto): the record is stored where the platform keeps things,
read back by a later run (another ansible-playbook process), kept apart per runbook, and the recall reads replicas,
the HPA and plain environment values (a secret reference is named, never read). The Compose backend runs in
test_mitigations_compose.py through the runbooks themselves."""

from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path

from harness.ansible_run import run_playbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "k8s"))
from k8s_double.server import K8sDouble
from k8s_platform import NAMESPACE, Double, deployment
from k8s_platform import services as k8s_services

PLAYBOOK = HERE / "remember_recall.yml"
RUNBOOK = "incident_rate_limit"
RECORD = {
    "v": 1,
    "runbook": RUNBOOK,
    "service": "api",
    "environment": "test",
    "run": "run-1",
    "at": "2026-05-01T03:00:00+00:00",
    "by": "alice",
    "changes": [
        {"kind": "env", "key": "META_RATE_LIMIT_BUFFER", "from": None, "to": "0.2"},
        {"kind": "replicas", "key": "replicas", "from": 2, "to": 4},
        {
            "kind": "flag",
            "key": "pause:low_priority_sync",
            "from": None,
            "to": "true",
            "expires": "2026-05-01T04:00:00+00:00",
        },
    ],
    "reverted": None,
}


def round_trip(extra_vars: dict, env: dict | None = None) -> dict:
    run = run_playbook(
        PLAYBOOK,
        extra_vars={"mitigation_test_service": "api", "mitigation_test_record": RECORD, **extra_vars},
        env=env,
    )
    assert run.rc == 0, run.output[-3000:]
    return run.task("Round trip result")["msg"]


def check_round_trip(seen: dict, platform: str) -> None:
    assert seen["before"]["record"] == {} and seen["before"]["platform"] == platform
    assert seen["remembered"]["changed"] is True
    assert seen["remembered_again"]["changed"] is False
    assert seen["other"]["record"] == {}
    assert seen["after"]["record"] == RECORD


def test_kubernetes_annotation_round_trip_with_hpa_and_secret_reference(tmp_path):
    with K8sDouble(ready_delay=0.2, deadline_scale=0.005) as server:
        k8s = Double(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        k8s.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        env = [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        ]
        k8s.create(deployment(replicas=3, env=env))
        k8s.create(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "stratum-api", "namespace": NAMESPACE},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stratum-api"},
                    "minReplicas": 2,
                    "maxReplicas": 6,
                },
            }
        )
        k8s.wait_complete()
        generation = k8s.deployment()["metadata"]["generation"]

        seen = round_trip(
            {
                "stratum_platform": "kubernetes",
                "stratum_services": k8s_services(),
                "stratum_kubernetes": {"kubeconfig": str(k8s.kubeconfig)},
                "mitigation_test_env": {"LOG_LEVEL": None, "DB_PASSWORD": None},
            }
        )
        check_round_trip(seen, "kubernetes")
        after = seen["after"]
        assert (after["replicas"], after["hpa"]) == (3, {"name": "stratum-api", "min": 2, "max": 6})
        assert after["env"] == {"LOG_LEVEL": "info", "DB_PASSWORD": None, "META_RATE_LIMIT_BUFFER": None}
        assert after["env_refs"] == ["DB_PASSWORD"]

        dep = k8s.deployment()
        stored = dep["metadata"]["annotations"][f"stratum.ops/mitigation.{RUNBOOK}"]
        assert json.loads(stored) == RECORD
        # metadata only: the pod template did not change, so nothing rolled out
        assert dep["metadata"]["generation"] == generation


def test_ecs_service_tags_round_trip(moto):
    moto.reset()
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="stratum-test")
    ecs.register_task_definition(
        family="stratum-api",
        containerDefinitions=[
            {
                "name": "api",
                "image": "stratum/api:1.0",
                "memory": 128,
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            }
        ],
    )
    # moto: created with 0 tasks, then scaled, the service is stable (tests/integration/ecs/conftest.py)
    ecs.create_service(cluster="stratum-test", serviceName="stratum-api", taskDefinition="stratum-api", desiredCount=0)
    ecs.update_service(cluster="stratum-test", service="stratum-api", desiredCount=2)

    def describe():
        return ecs.describe_services(cluster="stratum-test", services=["stratum-api"])["services"][0]

    arn, running = describe()["serviceArn"], describe()["taskDefinition"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "sre"}])

    seen = round_trip(
        {
            "stratum_platform": "ecs",
            "stratum_services": {
                "api": {"ecs": {"cluster": "stratum-test", "service": "stratum-api", "container": "api"}},
            },
            "stratum_aws": {"endpoint_url": moto.endpoint_url, "region": moto.region},
            "mitigation_test_env": {"LOG_LEVEL": None},
        },
        env=moto.env,
    )
    check_round_trip(seen, "ecs")
    assert (seen["after"]["replicas"], seen["after"]["hpa"]) == (2, None)
    assert seen["after"]["env"] == {"LOG_LEVEL": "info", "META_RATE_LIMIT_BUFFER": None}

    tags = {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags.pop("team") == "sre"  # other tags are left alone
    prefix = f"stratum.ops/mitigation.{RUNBOOK}/"
    assert all(k.startswith(prefix) and len(v) <= 256 for k, v in tags.items())
    packed = "".join(tags[f"{prefix}{i}"] for i in range(len(tags)))
    assert json.loads(zlib.decompress(base64.b64decode(packed))) == RECORD
    # tagging started no deployment: the service still runs the task definition it ran
    assert describe()["taskDefinition"] == running
