"""Fixtures for the Compose platform tests: a project directory and the fake `docker` CLI (tests/compose_double/)."""

from __future__ import annotations

import pytest
from compose_platform import COMPOSE_FILE, ComposeProject


@pytest.fixture
def compose(tmp_path):
    """A project running stratum/api:1.0.0 (healthcheck, env_file api.env) in the fake docker."""
    project = tmp_path / "stratum"
    project.mkdir()
    (project / "compose.yml").write_text(COMPOSE_FILE)
    (project / ".env").write_text("STRATUM_API_TAG=1.0.0\nSTRATUM_WORKERS_TAG=1.0.0\n")
    (project / "api.env").write_text("LOG_LEVEL=info\n")
    handle = ComposeProject(project, tmp_path / "docker-state.json", tmp_path / "docker-calls.jsonl")
    started = handle.docker("compose", "--project-directory", str(project), "up", "--detach", "--wait")
    assert started.returncode == 0, started.stderr
    return handle
