"""Shared fixtures: throwaway real backends and the Ansible runner (see tests/harness/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent / "harness"
sys.path.insert(0, str(HARNESS.parent))
# This checkout as ansible_collections.stratum.ops, for unit tests of module_utils (scripts/setup.sh links it).
COLLECTIONS = HARNESS.parents[1] / ".build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from harness import servers


@pytest.fixture
def redis_server():
    """A fresh redis-server on a free port, for one test."""
    with servers.redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def redis_server_shared():
    """One redis-server for a whole test module; tests use their own key prefixes or flush."""
    with servers.redis_server() as server:
        yield server


@pytest.fixture
def redis_server_factory():
    """Start extra redis-servers (password, extra args); all stopped after the test."""
    started = []

    def start(**kwargs):
        cm = servers.redis_server(**kwargs)
        started.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(started):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL cluster (initdb + postgres) for a test module."""
    with servers.postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def rabbitmq_server():
    """A RabbitMQ node of its own; the test is skipped when rabbitmq-server is not installed."""
    if not servers.rabbitmq_installed():
        pytest.skip("rabbitmq-server is not installed (scripts/setup.sh installs it as root)")
    with servers.rabbitmq_server() as server:
        yield server


@pytest.fixture
def celery_workers(tmp_path):
    """Start real Celery worker processes: celery_workers(broker_url, name, queues=[...])."""
    started: list[servers.CeleryWorker] = []

    def start(broker_url: str, name: str, queues: list[str] | None = None, wait: bool = True, concurrency: int = 1):
        worker = servers.CeleryWorker(
            name=name, broker_url=broker_url, queues=queues or ["default"], workdir=tmp_path, concurrency=concurrency
        )
        worker.start(wait=wait)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def moto():
    """moto's HTTP server with dummy credentials."""
    with servers.moto_server() as server:
        yield server
