"""celery_info and celery_purge on a RabbitMQ node of its own (skipped only when rabbitmq-server is absent)."""

from __future__ import annotations

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from kombu import Connection

pytestmark = pytest.mark.rabbitmq


def rabbit_depth(cluster, queue: str) -> int:
    """Read the depth back from RabbitMQ itself (passive declare)."""
    with Connection(cluster.broker_url) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def test_backlog_depth_and_consumers_from_rabbitmq(rabbitmq_celery):
    rabbitmq_celery.send("bulk", 25)

    result, run = run_module(
        "stratum.ops.celery_info",
        {
            "broker_url": rabbitmq_celery.broker_url,
            "workers": rabbitmq_celery.worker_names,
            "queues": ["bulk", "default", "missing_queue"],
            "backlog_threshold": 20,
        },
        verbosity=3,
    )

    assert result.status == "ok"
    assert result["queues"]["bulk"] == {"depth": 25, "consumers": 0, "over_threshold": True}
    assert result["queues"]["default"]["consumers"] == 2
    assert result["queues"]["missing_queue"] == {"depth": 0, "consumers": 0, "over_threshold": False}
    assert result["backlog"] == [{"queue": "bulk", "depth": 25}]
    assert result["unresponsive"] == []
    assert all(record["pool"] == "threads" for record in result["workers"].values())
    assert rabbitmq_celery.rabbitmq.password not in run.output


def test_rabbitmq_purge_refused_check_mode_then_purge(rabbitmq_celery):
    rabbitmq_celery.send("purge_amqp", 9)
    args = {"broker_url": rabbitmq_celery.broker_url, "queue": "purge_amqp"}

    refused, _unused = run_module("stratum.ops.celery_purge", args)
    checked, _unused = run_module("stratum.ops.celery_purge", {**args, "allowed_queues": ["purge_amqp"]}, check=True)
    depth_after_check = rabbit_depth(rabbitmq_celery, "purge_amqp")
    purged, run = run_module("stratum.ops.celery_purge", {**args, "allowed_queues": ["purge_amqp"]}, verbosity=3)
    again, _unused = run_module("stratum.ops.celery_purge", {**args, "allowed_queues": ["purge_amqp"]})

    assert_clean_failure(refused, "refusing to purge")
    assert checked.changed and checked["purged"] == 9 and depth_after_check == 9
    assert purged.changed and purged["depth_before"] == 9 and purged["purged"] == 9
    assert rabbit_depth(rabbitmq_celery, "purge_amqp") == 0
    assert not again.changed and again["purged"] == 0
    assert rabbitmq_celery.rabbitmq.password not in run.output


def test_rabbitmq_wrong_password_fails_with_clear_msg(rabbitmq_celery):
    password = rabbitmq_celery.rabbitmq.password
    bad_url = rabbitmq_celery.broker_url.replace(password, "not-the-password-Tz4")

    result, run = run_module("stratum.ops.celery_info", {"broker_url": bad_url, "queues": ["default"]}, verbosity=3)

    assert_clean_failure(result, "RabbitMQ")
    assert "not-the-password-Tz4" not in run.output
