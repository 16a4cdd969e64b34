"""A private dockerd, a throwaway registry and build contexts (FROM scratch: no base image can be downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import docker_servers


@pytest.fixture(scope="module")
def dockerd():
    if reason := docker_servers.available():
        pytest.skip(reason)
    with docker_servers.private_dockerd() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def registry():
    if reason := docker_servers.available():
        pytest.skip(reason)
    with docker_servers.registry() as reg:
        yield reg


@pytest.fixture(scope="module")
def contexts(tmp_path_factory) -> dict[str, str]:
    """One build context per service: a Dockerfile FROM scratch copying a file that names the service."""
    root = tmp_path_factory.mktemp("contexts")
    made = {}
    for service in ("api", "workers"):
        ctx = Path(root / service)
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY release.txt /release.txt\n")
        (ctx / "release.txt").write_text(f"stratum {service}\n")
        made[service] = str(ctx)
    return made


SERVICES = {
    "api": {"image": "stratum/api", "health_url": "http://127.0.0.1:9/health/detailed"},
    "workers": {"image": "stratum/workers"},
}
