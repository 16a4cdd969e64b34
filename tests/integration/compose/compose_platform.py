"""Helpers for the Compose platform tests: the project handle on the fake `docker` CLI, the platform runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DOUBLE_DIR = Path(__file__).resolve().parents[2] / "compose_double"
PLAYBOOK = Path(__file__).resolve().parents[1] / "k8s" / "platform.yml"

COMPOSE_FILE = """\
services:
  api:
    image: "stratum/api:${STRATUM_API_TAG:-latest}"
    env_file: [api.env]
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]
  workers:
    image: "stratum/workers:${STRATUM_WORKERS_TAG:-latest}"
"""


@dataclass
class ComposeProject:
    """A Compose project directory plus the fake docker's state, readable without Ansible."""

    dir: Path
    state_file: Path
    log_file: Path

    @property
    def env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        return {
            "PATH": os.pathsep.join([str(DOUBLE_DIR), venv_bin, os.environ.get("PATH", "")]),
            "STRATUM_DOCKER_DOUBLE_STATE": str(self.state_file),
            "STRATUM_DOCKER_DOUBLE_LOG": str(self.log_file),
        }

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(DOUBLE_DIR / "docker"), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
        )

    def containers(self, service: str = "api") -> list[dict]:
        if not self.state_file.exists():
            return []
        projects = json.loads(self.state_file.read_text())["projects"]
        return [c for c in projects.get(str(self.dir), {}).get("containers", []) if c["service"] == service]

    def dotenv(self) -> str:
        return (self.dir / ".env").read_text()

    def calls(self) -> list[list[str]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line)["argv"] for line in self.log_file.read_text().splitlines()]


def start_project(
    tmp_path: Path, files: dict[str, str] | None = None, compose_file: str = COMPOSE_FILE
) -> ComposeProject:
    """A Compose project in tmp_path/stratum running stratum/api and stratum/workers 1.0.0 in the fake docker.

    files adds or replaces project files (name -> text), e.g. {"api.env": "LOG_LEVEL=info\n"}.
    """
    project = tmp_path / "stratum"
    project.mkdir()
    (project / "compose.yml").write_text(compose_file)
    (project / ".env").write_text("STRATUM_API_TAG=1.0.0\nSTRATUM_WORKERS_TAG=1.0.0\n")
    for name, text in (files or {}).items():
        (project / name).write_text(text)
    handle = ComposeProject(project, tmp_path / "docker-state.json", tmp_path / "docker-calls.jsonl")
    started = handle.docker("compose", "--project-directory", str(project), "up", "--detach", "--wait")
    assert started.returncode == 0, started.stderr
    return handle


def services(project_src: str) -> dict:
    return {
        "api": {
            "compose": {"project_src": project_src, "service": "api", "env_file": "api.env"},
            "image": "stratum/api",
        },
        "workers": {"compose": {"project_src": project_src, "service": "workers"}, "image": "stratum/workers"},
    }


def platform(
    compose: ComposeProject,
    op: str,
    check: bool = False,
    verbosity: int = 0,
    stratum_services: dict | None = None,
    **role_vars,
):
    """Run roles/platform tasks_from=op on Compose; returns (platform_result or None, run)."""
    from harness.ansible_run import run_playbook

    extra = {
        "platform_op": op,
        "stratum_platform": "compose",
        "stratum_services": stratum_services or services(str(compose.dir)),
        **role_vars,
    }
    run = run_playbook(PLAYBOOK, extra_vars=extra, check=check, verbosity=verbosity, env=compose.env)
    shown = [t for t in run.tasks if t.task == "Platform result"]
    return (shown[-1]["platform_result"] if shown else None), run


def failure(run) -> str:
    failed = run.failed_tasks()
    assert failed, f"expected a failed task:\n{run.output[-3000:]}"
    return str(failed[-1].get("msg"))
