"""Each backend stopped, hung (SIGSTOP) or lost mid-run: the module fails within its own timeout plus a small
margin, says how far it got, and a rerun after the fault finishes. Through ansible-playbook, as users run it.

The margin is measured, not guessed: the same module failing at once (connection refused) gives the cost of
ansible-playbook itself on this machine, and a hung backend may add only the module's timeout to that.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from harness.servers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s"))

MARGIN = 6.0  # seconds on top of the measured ansible-playbook cost and the module's timeout


@contextmanager
def stopped(proc):
    """SIGSTOP the server's whole process group (a hung host: TCP still accepts, nothing answers)."""
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGCONT)


def timed(module, args, **kw):
    started = time.monotonic()
    result, _run = run_module(module, args, **kw)
    return result, time.monotonic() - started


def refused_port() -> int:
    return free_port()


# ------------------------------------------------------------------------------------------------ Redis
def test_redis_hung_stopped_and_lost_mid_run(redis_server):
    client = redis_server.client()
    base = {"host": "127.0.0.1", "port": redis_server.port, "connect_timeout": 1, "command_timeout": 2}
    refused, floor = timed("stratum.ops.redis_key_info", {**base, "port": refused_port(), "keys": ["q"]})
    assert_clean_failure(refused, "cannot connect to Redis")

    client.rpush("q", "a")
    with stopped(redis_server.proc):
        hung, elapsed = timed("stratum.ops.redis_key_info", {**base, "keys": ["q"]})
    assert_clean_failure(hung, "Redis", "127.0.0.1")
    assert elapsed < floor + 1 + 2 + MARGIN, f"hung Redis took {elapsed:.1f}s (floor {floor:.1f}s)"
    rerun, _run = run_module("stratum.ops.redis_key_info", {**base, "keys": ["q"]})
    assert rerun["key_info"][0]["length"] == 1

    # Lost mid-run: a cleanup in small paced batches, the server hung after the first batches.
    pipe = client.pipeline(transaction=False)
    for i in range(20000):
        pipe.set(f"fault:{i}", "x")
    pipe.execute()
    watcher_client = redis_server.client()

    def hang_after_first_batches():
        # as soon as the cleanup has visibly started, the server stops answering
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and watcher_client.dbsize() > 19900:
            time.sleep(0.02)
        os.killpg(redis_server.proc.pid, signal.SIGSTOP)

    watcher = threading.Thread(target=hang_after_first_batches, daemon=True)
    watcher.start()
    try:
        cut, elapsed = timed(
            "stratum.ops.redis_cleanup",
            {**base, "pattern": "fault:*", "batch_size": 50, "scan_count": 50, "pause_ms": 100},
        )
    finally:
        watcher.join(timeout=130)
        os.killpg(redis_server.proc.pid, signal.SIGCONT)
    time.sleep(0.5)  # the batch sent just before the hang runs once the server resumes
    assert_clean_failure(cut, "mid-run", "keys matching 'fault:*' were deleted", "safe to repeat")
    assert "at least" in cut["msg"], cut["msg"]  # the last batch's reply was lost
    assert 0 < cut["deleted"] < 20000
    remaining = len(client.keys("fault:*"))
    assert remaining <= 20000 - cut["deleted"]
    done, _run = run_module("stratum.ops.redis_cleanup", {**base, "pattern": "fault:*"})
    assert done.status == "changed" and done["deleted"] == remaining
    assert client.keys("fault:*") == []


def test_redis_default_from_the_environment_never_takes_a_bad_port_or_db(redis_server):
    """REDIS_URL (the documented fallback) names a throwaway server; port 0 or a bad db must not reach it."""
    client = redis_server.client()
    connections = client.info("stats")["total_connections_received"]
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0"}
    zero, _run = run_module("stratum.ops.redis_flag", {"port": 0, "key": "flag"}, env=env)
    assert_clean_failure(zero, "port must be a port number from 1 to 65535, got 0")
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/abc"}
    bad_db, _run = run_module("stratum.ops.redis_flag", {"key": "flag"}, env=env)
    assert_clean_failure(bad_db, "url database path 'abc' is not a database number")
    assert client.get("flag") is None
    assert client.info("stats")["total_connections_received"] == connections


# ------------------------------------------------------------------------------------------------ Celery broker
def test_celery_broker_hung_and_explicit_url_beats_the_environment(redis_server, redis_server_factory):
    other = redis_server_factory().client()  # one client: one connection of our own, counted once
    other_connections = other.info("stats")["total_connections_received"]
    redis_server.client().rpush("jobs", "t1", "t2")
    args = {"broker_url": redis_server.url, "timeout": 1, "queues": ["jobs"]}
    env = {"CELERY_BROKER_URL": f"redis://127.0.0.1:{other.connection_pool.connection_kwargs['port']}/0"}
    info, _run = run_module("stratum.ops.celery_info", args, env=env)
    assert info["queues"]["jobs"]["depth"] == 2, info.result
    # (the broker URL in the result is masked: it is a no_log option) the environment's broker saw nothing
    assert other.info("stats")["total_connections_received"] == other_connections

    refused, floor = timed("stratum.ops.celery_info", {**args, "broker_url": f"redis://127.0.0.1:{refused_port()}/0"})
    assert_clean_failure(refused, "cannot reach the Redis broker")
    with stopped(redis_server.proc):
        hung, elapsed = timed("stratum.ops.celery_info", args)
    assert_clean_failure(hung, "cannot reach the Redis broker", "timeout")
    # documented: broker commands take up to five times timeout, at least 5 seconds
    assert elapsed < floor + 5 + MARGIN, f"hung broker took {elapsed:.1f}s (floor {floor:.1f}s)"
    rerun, _run = run_module("stratum.ops.celery_info", args)
    assert rerun["queues"]["jobs"]["depth"] == 2


# ------------------------------------------------------------------------------------------------ PostgreSQL
def test_postgres_hung_and_stopped(postgres_server):
    login = postgres_server.login_args()
    args = {**login, "connect_timeout": 2, "statement_timeout": 2}
    refused, floor = timed("stratum.ops.pg_activity_info", {**args, "login_port": refused_port()})
    assert_clean_failure(refused, "cannot connect to PostgreSQL")
    with stopped(postgres_server.proc):
        hung, elapsed = timed("stratum.ops.pg_activity_info", args)
    assert_clean_failure(hung, "PostgreSQL")
    assert elapsed < floor + 2 + MARGIN, f"hung PostgreSQL took {elapsed:.1f}s (floor {floor:.1f}s)"
    rerun, _run = run_module("stratum.ops.pg_activity_info", args)
    assert rerun.status == "ok" and rerun["max_connections"] > 0


def test_postgres_default_from_the_environment_never_takes_port_zero(postgres_server):
    """PGHOST/PGPORT (the documented fallback) name a throwaway server; login_port 0 must be refused."""
    login = postgres_server.login_args()
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(postgres_server.port), "PGPASSWORD": login["login_password"]}
    args = {"login_user": login["login_user"], "login_db": login["login_db"]}
    ok, _run = run_module("stratum.ops.pg_activity_info", args, env=env)
    assert ok.status == "ok", ok.result  # the environment does reach the throwaway server
    zero, _run = run_module("stratum.ops.pg_terminate_backends", {**args, "login_port": 0, "all_users": True}, env=env)
    assert_clean_failure(zero, "login_port must be a port number from 1 to 65535, got 0")


# ------------------------------------------------------------------------------------------------ AWS (moto)
def test_aws_hung_endpoint_fails_within_wait_timeout(moto):
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="faults")
    arn = ecs.register_task_definition(
        family="faults", containerDefinitions=[{"name": "api", "image": "api:1", "memory": 64}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="faults", serviceName="svc", taskDefinition=arn, desiredCount=0)
    args = {**moto.module_args(), "cluster": "faults", "service": "svc", "wait_timeout": 8, "poll_interval": 1}
    refused, floor = timed(
        "stratum.ops.ecs_service_wait", {**args, "endpoint_url": f"http://127.0.0.1:{refused_port()}"}, env=moto.env
    )
    assert_clean_failure(refused, "cannot read ECS service svc")
    with stopped(moto.proc):
        hung, elapsed = timed("stratum.ops.ecs_service_wait", args, env=moto.env)
    assert_clean_failure(hung, "cannot read ECS service svc", "timeout")
    assert elapsed < floor + 8 + MARGIN, f"hung endpoint took {elapsed:.1f}s (floor {floor:.1f}s)"
    rerun, _run = run_module("stratum.ops.ecs_service_wait", args, env=moto.env)
    assert rerun.status == "ok" and rerun["stable"] is True, rerun.result


# ------------------------------------------------------------------------------------------------ Kubernetes
@pytest.fixture
def black_hole():
    """DOUBLE (labelled): a listening socket that never accepts - a hung API server; our Kubernetes double runs
    in the test process, so it cannot be SIGSTOPped on its own."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_k8s_hung_api_fails_within_wait_timeout_and_a_rerun_finishes(black_hole, tmp_path):
    from k8s_double.server import K8sDouble
    from k8s_platform import NAMESPACE, Double, deployment

    args = {"namespace": "production", "name": "stratum-api", "wait_timeout": 3, "api_key": "x"}
    refused, floor = timed("stratum.ops.k8s_rollout", {**args, "host": f"http://127.0.0.1:{refused_port()}"})
    assert_clean_failure(refused, "Kubernetes")
    hung, elapsed = timed("stratum.ops.k8s_rollout", {**args, "host": black_hole})
    assert_clean_failure(hung, "no result within 8s", "wait_timeout 3s")
    assert elapsed < floor + 3 + 5 + MARGIN, f"hung API took {elapsed:.1f}s (floor {floor:.1f}s)"
    with K8sDouble(ready_delay=0.2, deadline_scale=0.005) as server:
        double = Double(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        double.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        double.create(deployment())
        double.wait_complete()
        rerun, _run = run_module(
            "stratum.ops.k8s_rollout", {**args, "api_key": None, "kubeconfig": str(double.kubeconfig)}
        )
    assert rerun.status == "ok" and rerun["rollout"]["state"] == "complete", rerun.result
