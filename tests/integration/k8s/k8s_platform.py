"""Helpers for the Kubernetes platform tests: manifests, a client for the API double, the platform runner."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from k8s_double.server import K8sDouble

NAMESPACE = "production"


def deployment(
    name: str = "stratum-api",
    image: str = "stratum/api:1.0.0",
    replicas: int = 2,
    container: str = "api",
    deadline: int = 600,
    env: list | None = None,
) -> dict:
    """A Deployment manifest like Stratum's API one."""
    app = name
    containers = [{"name": container, "image": image, "env": env or [{"name": "LOG_LEVEL", "value": "info"}]}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": app}},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": containers}},
        },
    }


class Double:
    """Test handle on a running double: HTTP helpers that read back state without Ansible."""

    def __init__(self, server: K8sDouble, kubeconfig: Path) -> None:
        self.server = server
        self.kubeconfig = kubeconfig
        self.url = server.url

    def request(self, method: str, path: str, body=None, content_type: str = "application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.server.token}")
        req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def create(self, obj: dict) -> dict:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace", NAMESPACE)
        if kind == "Namespace":
            return self.request("POST", "/api/v1/namespaces", obj)
        paths = {
            "Deployment": f"/apis/apps/v1/namespaces/{ns}/deployments",
            "HorizontalPodAutoscaler": f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
            "ConfigMap": f"/api/v1/namespaces/{ns}/configmaps",
            "Secret": f"/api/v1/namespaces/{ns}/secrets",
        }
        return self.request("POST", paths[kind], obj)

    def deployment(self, name: str = "stratum-api", ns: str = NAMESPACE) -> dict:
        return self.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")

    def replicasets(self, ns: str = NAMESPACE) -> list[dict]:
        return self.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets")["items"]

    def hpa(self, name: str, ns: str = NAMESPACE) -> dict:
        return self.request("GET", f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}")

    def fail_image(self, pattern: str, mode: str = "ImagePullBackOff") -> None:
        self.request("POST", "/_double/fail_image", {"pattern": pattern, "mode": mode})

    def wait_complete(self, name: str = "stratum-api", timeout: float = 10) -> dict:
        """Poll until the rollout completes (setup helper, not an assertion on speed)."""
        import time

        end = time.monotonic() + timeout
        while True:
            dep = self.deployment(name)
            conds = {c["type"]: c for c in dep["status"].get("conditions", [])}
            if (
                conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"
                and dep["status"].get("observedGeneration") == dep["metadata"]["generation"]
            ):
                return dep
            assert time.monotonic() < end, f"rollout of {name} did not complete: {dep['status']}"
            time.sleep(0.1)


PLAYBOOK = Path(__file__).resolve().parent / "platform.yml"


def services(namespace: str = NAMESPACE, deployment: str = "stratum-api") -> dict:
    return {
        "api": {
            "kubernetes": {"namespace": namespace, "deployment": deployment, "container": "api"},
            "image": "stratum/api",
        },
        "workers": {
            "kubernetes": {"namespace": namespace, "deployment": "stratum-workers", "container": "worker"},
            "image": "stratum/workers",
        },
    }


def platform(
    k8s: Double, op: str, check: bool = False, verbosity: int = 0, stratum_services: dict | None = None, **role_vars
):
    """Run roles/platform tasks_from=op against the double; returns (platform_result or None, run)."""
    from harness.ansible_run import run_playbook

    extra = {
        "platform_op": op,
        "stratum_platform": "kubernetes",
        "stratum_services": stratum_services or services(),
        "stratum_kubernetes": {"kubeconfig": str(k8s.kubeconfig)},
        "platform_k8s_wait_sleep": 0.2,
        **role_vars,
    }
    run = run_playbook(PLAYBOOK, extra_vars=extra, check=check, verbosity=verbosity)
    shown = [t for t in run.tasks if t.task == "Platform result"]
    return (shown[-1]["platform_result"] if shown else None), run


def failure(run) -> str:
    failed = run.failed_tasks()
    assert failed, f"expected a failed task:\n{run.output[-3000:]}"
    return str(failed[-1].get("msg"))
