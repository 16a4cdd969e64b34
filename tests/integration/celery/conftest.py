"""Celery fixtures: a broker with two real workers, started once and shared (tests use their own queue names)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery
from harness import servers
from harness.ansible_run import run_playbook

# The test workers consume these; `bulk` is the queue nobody consumes, where a backlog builds up.
WORKER_QUEUES = ["default", "emails"]


@dataclass
class CeleryCluster:
    """A broker URL, its running workers, and a bare Celery app to publish tasks with."""

    broker_url: str
    workers: list[servers.CeleryWorker]
    app: Celery = field(repr=False)

    @property
    def worker_names(self) -> list[str]:
        return [w.hostname for w in self.workers]

    def send(self, queue: str, count: int, priority: int | None = None) -> None:
        """Publish `count` real tasks to a queue (with an AMQP/Redis message priority when given)."""
        with self.app.producer_or_acquire() as producer:
            for i in range(count):
                self.app.send_task("stratum_test.add", args=(i, i), queue=queue, priority=priority, producer=producer)


@contextlib.contextmanager
def celery_cluster(broker_url: str, workdir) -> CeleryCluster:
    app = Celery("stratum_test_publisher", broker=broker_url, set_as_current=False)
    app.conf.task_create_missing_queues = True
    workers: list[servers.CeleryWorker] = []
    try:
        for name in ("alpha", "beta"):
            worker = servers.CeleryWorker(name=name, broker_url=broker_url, queues=WORKER_QUEUES, workdir=workdir)
            workers.append(worker.start(wait=False))
        for worker in workers:
            servers.wait_for(worker.ping, 60, f"celery worker {worker.hostname}", workdir / f"{worker.name}.log")
        yield CeleryCluster(broker_url=broker_url, workers=workers, app=app)
    finally:
        for worker in workers:
            worker.stop()
        app.close()


@pytest.fixture(scope="session")
def redis_celery(tmp_path_factory):
    """A Redis broker with two workers consuming default and emails, shared by every test (own queue names each)."""
    with servers.redis_server() as redis, celery_cluster(redis.url, tmp_path_factory.mktemp("celery")) as cluster:
        cluster.redis = redis
        yield cluster


@pytest.fixture(scope="module")
def rabbitmq_celery(rabbitmq_server, tmp_path_factory):
    """A RabbitMQ node of its own with two workers (skipped only when rabbitmq-server is absent)."""
    with celery_cluster(rabbitmq_server.url, tmp_path_factory.mktemp("celery-amqp")) as cluster:
        cluster.rabbitmq = rabbitmq_server
        yield cluster


@pytest.fixture
def run_cases():
    """Run several calls of one module in a single ansible-playbook run (each may fail); return their results."""

    def run(module: str, cases: list[dict], **kwargs):
        with tempfile.TemporaryDirectory(prefix="stratum-cases-") as tmp:
            playbook = Path(tmp) / "cases.yml"
            tasks = [{"name": f"case {i}", module: args, "ignore_errors": True} for i, args in enumerate(cases)]
            play = [{"name": "cases", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
            playbook.write_text(json.dumps(play))
            run_ = run_playbook(playbook, **kwargs)
        results = [run_.task(f"case {i}") for i in range(len(cases))]
        for result in results:
            if result.status == "ignored":  # ignore_errors only kept the play going: it is a failure
                result.status = "failed"
        return results, run_

    return run
