"""Fixtures for the deploy / rollback tests: the local sandbox's AWS side (moto ECS with stratum-api and
stratum-workers, the stand-in API reading the running version from it) and helpers that read it back."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import servers
from harness.ansible_run import run_playbook

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))

import demo

PLAYBOOKS = REPO / "playbooks"
LOCAL_INVENTORY = REPO / "inventories" / "local"
INITIAL = "1.0.0"
# Fast settings for tests: the checklist and migration have their own tests; a short watch window.
FAST = {
    "deploy_run_checklist": False,
    "deploy_run_migration": False,
    "deploy_watch_seconds": 1,
    "deploy_watch_interval": 1,
    "deploy_health_retries": 2,
    "deploy_health_delay": 1,
    "deploy_poll_interval": 1,
    "rollback_poll_interval": 1,
    "rollback_health_retries": 2,
    "rollback_health_delay": 1,
}


@contextlib.contextmanager
def env_set(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_api(args: list[str], env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, str]:
    """scripts/sandbox_api.py on a free port with the given version source."""
    port = servers.free_port()
    log = workdir / "api.log"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "sandbox_api.py"), "--port", str(port), *args],
        start_new_session=True,
        stdout=open(log, "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        env=dict(os.environ, **env),
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with urllib.request.urlopen(url + "/health/live", timeout=2) as resp:
            return resp.status == 200

    servers.wait_for(up, 30, "sandbox API", log)
    return proc, url


class EcsSandbox:
    """moto ECS seeded like `make demo`, the stand-in API, and read-back helpers."""

    def __init__(self, moto: servers.MotoServer, api_url: str, control: Path) -> None:
        self.moto = moto
        self.api_url = api_url
        self.control = control
        self.ecs = moto.client("ecs")

    def seed(self) -> None:
        self.moto.reset()
        state = {"endpoint_url": self.moto.endpoint_url, "region": self.moto.region, "env": self.moto.env}
        demo.seed_aws(state, {"ENVIRONMENT": "test"}, {"SECRET_KEY": "x" * 40}, INITIAL)
        self.fail_version("")

    def fail_version(self, version: str) -> None:
        self.control.write_text(json.dumps({"fail_version": version}))

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.moto.env,
            "STRATUM_LOCAL_AWS_ENDPOINT": self.moto.endpoint_url,
            "STRATUM_LOCAL_AWS_REGION": self.moto.region,
            "STRATUM_LOCAL_API_URL": self.api_url,
        }

    def service(self, name: str) -> dict:
        return self.ecs.describe_services(cluster=demo.CLUSTER, services=[name])["services"][0]

    def image(self, name: str) -> str:
        definition = self.ecs.describe_task_definition(taskDefinition=self.service(name)["taskDefinition"])
        return definition["taskDefinition"]["containerDefinitions"][0]["image"]

    def versions(self) -> dict[str, str]:
        return {name: self.image(name).rsplit(":", 1)[-1] for name in ("stratum-api", "stratum-workers")}

    def revisions(self) -> dict[str, str]:
        return {
            name: self.service(name)["taskDefinition"].rsplit("/", 1)[-1] for name in ("stratum-api", "stratum-workers")
        }

    def task_definition_count(self) -> int:
        return len(self.ecs.list_task_definitions()["taskDefinitionArns"])

    def run(self, playbook: str, check: bool = False, verbosity: int = 0, **extra):
        """Run playbooks/<playbook> with inventories/local against this sandbox."""
        return run_playbook(
            PLAYBOOKS / playbook,
            inventory=LOCAL_INVENTORY,
            extra_vars={**FAST, **extra},
            check=check,
            verbosity=verbosity,
            env=self.env,
        )


@pytest.fixture(scope="module")
def ecs_sandbox_module():
    with tempfile.TemporaryDirectory(prefix="stratum-deploy-test-") as tmp:
        workdir = Path(tmp)
        moto = servers.MotoServer(port=servers.free_port(), workdir=workdir)
        # moto reports this many running tasks per service, so ECS rollouts complete
        with env_set(MOTO_ECS_SERVICE_RUNNING=str(demo.REPLICAS)):
            moto.start()
        control = workdir / "control.json"
        control.write_text("{}")
        proc = None
        try:
            sandbox = EcsSandbox(moto, "", control)
            sandbox.seed()
            proc, url = start_api(
                ["--ecs-cluster", demo.CLUSTER, "--ecs-service", "stratum-api", "--control", str(control)],
                moto.env,
                workdir,
            )
            sandbox.api_url = url
            yield sandbox
        finally:
            if proc:
                servers.stop_process(proc)
            moto.stop()


@pytest.fixture
def ecs_sandbox(ecs_sandbox_module):
    """The module's sandbox, reset: both services at 1.0.0 (revision 1), no failing version."""
    ecs_sandbox_module.seed()
    return ecs_sandbox_module


def report(run, key: str = "deploy") -> dict:
    """The report the role passed to set_stats."""
    stats = run.custom_stats
    data = stats.get("_run", stats.get("localhost", stats))
    assert key in data, f"no {key} stat:\n{run.output[-3000:]}"
    return data[key]


def failure(run) -> str:
    failed = run.failed_tasks()
    assert failed, f"expected a failed task:\n{run.output[-3000:]}"
    return str(failed[-1].get("msg"))
