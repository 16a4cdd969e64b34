"""playbooks/deploy.yml on Kubernetes (tests/k8s_double) and Docker Compose (tests/compose_double), with the
stand-in API reporting the version each platform runs."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import FAST, PLAYBOOKS, failure, report, start_api
from harness import docker_servers, servers
from harness.ansible_run import run_playbook

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
TESTS = Path(__file__).resolve().parents[2]
INVENTORY = Path(__file__).resolve().parent / "inventory"
NAMESPACE = "production"


def k8s_request(double, method: str, path: str, body=None) -> dict:
    req = urllib.request.Request(double.url + path, data=json.dumps(body).encode() if body else None, method=method)
    req.add_header("Authorization", f"Bearer {double.token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def deployment(name: str, container: str, image: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
        },
    }


@pytest.fixture
def k8s(tmp_path):
    """The Kubernetes API double with stratum-api and stratum-workers at 1.0.0, and the stand-in API."""
    from k8s_double.server import K8sDouble

    with K8sDouble(ready_delay=0.2, deadline_scale=0.005) as double, docker_servers.registry() as registry:
        # production checks the registry has the version's images before anything changes
        for repository in ("stratum/api", "stratum/workers"):
            registry.seed(repository, ["1.1.0", "1.2.0-broken"])
        kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
        k8s_request(
            double,
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        )
        for name, container, image in (
            ("stratum-api", "api", "stratum/api"),
            ("stratum-workers", "worker", "stratum/workers"),
        ):
            k8s_request(
                double,
                "POST",
                f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments",
                deployment(name, container, f"{image}:1.0.0"),
            )
        control = tmp_path / "control.json"
        control.write_text("{}")
        proc, url = start_api(
            [
                "--k8s-url",
                double.url,
                "--k8s-token",
                double.token,
                "--k8s-namespace",
                NAMESPACE,
                "--control",
                str(control),
            ],
            {},
            tmp_path,
        )
        try:
            extra = {
                "stratum_environment": "production",
                "stratum_platform": "kubernetes",
                "stratum_registry": {"kind": "plain", "url": registry.url, "insecure": True},
                "stratum_kubernetes": {"kubeconfig": str(kubeconfig)},
                "stratum_services": {
                    "api": {
                        "kubernetes": {"namespace": NAMESPACE, "deployment": "stratum-api", "container": "api"},
                        "image": "stratum/api",
                        "health_url": f"{url}/health/detailed",
                    },
                    "workers": {
                        "kubernetes": {"namespace": NAMESPACE, "deployment": "stratum-workers", "container": "worker"},
                        "image": "stratum/workers",
                    },
                },
                "platform_k8s_wait_sleep": 0.2,
            }
            yield double, extra, control
        finally:
            servers.stop_process(proc)


def k8s_image(double, name: str) -> str:
    dep = k8s_request(double, "GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}")
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def test_deploy_succeeds_on_kubernetes(k8s):
    double, extra, _unused = k8s
    run = run_playbook(PLAYBOOKS / "deploy.yml", inventory=INVENTORY, extra_vars={**FAST, **extra, "version": "1.1.0"})
    assert run.rc == 0, run.output[-4000:]
    assert k8s_image(double, "stratum-api") == "stratum/api:1.1.0"
    assert k8s_image(double, "stratum-workers") == "stratum/workers:1.1.0"
    rep = report(run)
    assert rep["outcome"] == "deployed" and rep["platform"] == "kubernetes"
    assert rep["health"]["version"] == "1.1.0"
    assert rep["services"]["api"]["revision"] == "2"


def test_failed_rollout_on_kubernetes_rolls_back_the_api(k8s):
    double, extra, _unused = k8s
    # the double leaves pods of an image named *broken* in ImagePullBackOff; the rollout fails
    run = run_playbook(
        PLAYBOOKS / "deploy.yml", inventory=INVENTORY, extra_vars={**FAST, **extra, "version": "1.2.0-broken"}
    )
    assert run.rc != 0
    msg = failure(run)
    assert "failed at deploy api" in msg and "ImagePullBackOff" in msg
    assert "Rolled back: api to 1.0.0" in msg
    assert k8s_image(double, "stratum-api") == "stratum/api:1.0.0"
    assert k8s_image(double, "stratum-workers") == "stratum/workers:1.0.0"
    assert report(run)["outcome"] == "rolled_back"


COMPOSE_FILE = """\
services:
  api:
    image: "stratum/api:${STRATUM_API_TAG:-latest}"
  worker:
    image: "stratum/workers:${STRATUM_WORKERS_TAG:-latest}"
"""


@pytest.fixture
def compose(tmp_path):
    """A Compose project at 1.0.0 in the fake docker (tests/compose_double), and the stand-in API."""
    double_dir = TESTS / "compose_double"
    if not (double_dir / "docker").exists():
        pytest.skip("the fake docker (tests/compose_double/docker) is not there")
    import subprocess

    project = tmp_path / "stratum"
    project.mkdir()
    (project / "docker-compose.yml").write_text(COMPOSE_FILE)
    (project / ".env").write_text("STRATUM_API_TAG=1.0.0\nSTRATUM_WORKERS_TAG=1.0.0\n")
    state = tmp_path / "docker-state.json"
    env = {
        "PATH": os.pathsep.join([str(double_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "STRATUM_DOCKER_DOUBLE_STATE": str(state),
    }
    started = subprocess.run(
        [str(double_dir / "docker"), "compose", "--project-directory", str(project), "up", "--detach", "--wait"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    proc, url = start_api(
        ["--compose-state", str(state), "--compose-project", str(project), "--compose-service", "api"], {}, tmp_path
    )
    try:
        extra = {
            "stratum_environment": "staging",
            "stratum_platform": "compose",
            "stratum_compose": {"env_file": ".env", "files": ["docker-compose.yml"]},
            "stratum_services": {
                "api": {
                    "compose": {"project_src": str(project), "service": "api"},
                    "image": "stratum/api",
                    "health_url": f"{url}/health/detailed",
                },
                "workers": {"compose": {"project_src": str(project), "service": "worker"}, "image": "stratum/workers"},
            },
        }
        yield project, state, env, extra
    finally:
        servers.stop_process(proc)


def compose_images(project: Path, state: Path) -> dict[str, str]:
    containers = json.loads(state.read_text())["projects"][str(project)]["containers"]
    return {c["service"]: c["image"] for c in containers}


def test_deploy_succeeds_on_compose(compose):
    project, state, env, extra = compose
    run = run_playbook(
        PLAYBOOKS / "deploy.yml", inventory=INVENTORY, extra_vars={**FAST, **extra, "version": "1.1.0"}, env=env
    )
    assert run.rc == 0, run.output[-4000:]
    assert compose_images(project, state) == {"api": "stratum/api:1.1.0", "worker": "stratum/workers:1.1.0"}
    assert "STRATUM_API_TAG=1.1.0" in (project / ".env").read_text()
    rep = report(run)
    assert rep["outcome"] == "deployed" and rep["platform"] == "compose"
    assert rep["health"]["version"] == "1.1.0"
