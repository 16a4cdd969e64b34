"""Fixtures for the Compose platform tests: a project directory and the fake `docker` CLI (tests/compose_double/)."""

from __future__ import annotations

import pytest
from compose_platform import start_project


@pytest.fixture
def compose(tmp_path):
    """A project running stratum/api:1.0.0 (healthcheck, env_file api.env) in the fake docker."""
    return start_project(tmp_path, {"api.env": "LOG_LEVEL=info\n"})
