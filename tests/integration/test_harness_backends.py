"""Proof that the harness starts real backends and that Ansible, run as users run it, talks to them."""

from __future__ import annotations

import sys

import pytest
from harness.ansible_run import run_module


def test_redis_info_through_ansible_reads_real_server(redis_server):
    redis_server.client().set("proof:key", "1")
    result, _run = run_module(
        "community.general.redis_info", {"login_host": "127.0.0.1", "login_port": redis_server.port}
    )
    assert result.status == "ok", result.result
    assert result["info"]["tcp_port"] == redis_server.port
    assert result["info"]["db0"]["keys"] == 1


def test_postgres_query_through_ansible_reads_real_server(postgres_server):
    result, _run = run_module(
        "community.postgresql.postgresql_query",
        {**postgres_server.login_args(), "query": "SELECT current_setting('port') AS port"},
    )
    assert result.status in ("ok", "changed"), result.result
    assert int(result["query_result"][0]["port"]) == postgres_server.port


def test_postgres_wrong_password_is_refused(postgres_server):
    args = {**postgres_server.login_args(), "login_password": "not-the-password", "query": "SELECT 1"}
    result, _run = run_module("community.postgresql.postgresql_query", args)
    assert result.failed
    assert "password authentication failed" in result["msg"]


def test_celery_worker_answers_ping_through_ansible(redis_server, celery_workers):
    worker = celery_workers(redis_server.url, "proof", queues=["default"])
    result, _run = run_module(
        "ansible.builtin.command",
        {"argv": [sys.executable, "-m", "celery", "-b", redis_server.url, "inspect", "ping", "-t", "2", "-j"]},
    )
    assert result.status == "changed", result.result
    assert worker.hostname in result["stdout"]


@pytest.mark.rabbitmq
def test_celery_worker_on_rabbitmq_answers_ping(rabbitmq_server, celery_workers):
    worker = celery_workers(rabbitmq_server.url, "proof-amqp", queues=["default"])
    assert worker.ping()


def test_moto_server_serves_ecs_through_community_aws(moto):
    args = {
        "family": "proof",
        "state": "present",
        "containers": [{"name": "api", "image": "stratum/api:1.0.0", "memory": 256, "essential": True}],
        **moto.module_args(),
    }
    result, _run = run_module("community.aws.ecs_taskdefinition", args)
    assert result.status == "changed", result.result
    described = moto.client("ecs").describe_task_definition(taskDefinition="proof")["taskDefinition"]
    assert described["containerDefinitions"][0]["image"] == "stratum/api:1.0.0"
    again, _run = run_module("community.aws.ecs_taskdefinition", args)
    assert again.status == "ok", again.result
    assert again["taskdefinition"]["revision"] == described["revision"]
