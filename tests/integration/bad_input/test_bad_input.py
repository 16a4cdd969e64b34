"""Generated bad inputs for every module, through ansible-playbook: refused naming the option, backend unchanged.

Per module: 50 cases drawn from the hypothesis strategies in strategies.py (ports, timeouts with NaN/inf/
negative/huge values, text with NUL bytes or lone surrogates, long host labels, malformed URLs), one playbook,
one run. The backends are throwaway servers; each is read back before and after.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import assert_refused
from hypothesis import strategies as st
from strategies import (
    bad_host,
    bad_int_timeout,
    bad_port,
    bad_text,
    bad_timeout,
    bad_url,
    http_url,
    huge_int,
    long_label,
    negative_int,
    non_finite,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s"))
from k8s_double.server import K8sDouble
from k8s_platform import NAMESPACE, Double, deployment

ALEMBIC_PROJECT = Path(__file__).resolve().parents[2] / "fixtures" / "alembic_project"


# ------------------------------------------------------------------------------------------------ Redis
def redis_snapshot(client) -> tuple:
    """Every key with its type and value, plus how many connections the server ever accepted."""
    keys = sorted(client.keys("*"))
    data = [(k, client.type(k), client.dump(k)) for k in keys]
    return data, client.info("stats")["total_connections_received"]


def redis_common(port: int) -> dict:
    return {
        "port": bad_port,
        "db": st.one_of(negative_int, huge_int),
        "host": bad_host,
        "connect_timeout": bad_timeout,
        "command_timeout": bad_timeout,
        "url": bad_url(("redis", "rediss"), port, db_path=True),
        "password": bad_text,
    }


REDIS_MODULES = {
    "stratum.ops.redis_flag": (
        {"key": "bad-input:flag", "ttl": 60},
        {"key": bad_text, "value": bad_text, "ttl": huge_int},
    ),
    "stratum.ops.redis_key_info": ({"keys": ["bad-input:queue"]}, {"keys": bad_text.map(lambda t: ["ok", t])}),
    "stratum.ops.redis_cleanup": (
        {"pattern": "bad-input:*"},
        {"pattern": bad_text, "pause_ms": st.integers(60001, 10**12), "scan_count": huge_int},
    ),
    "stratum.ops.redis_memory_info": (
        {},
        {"time_budget_seconds": bad_timeout, "match": bad_text, "prefix_delimiter": bad_text},
    ),
}


@pytest.mark.parametrize("module", sorted(REDIS_MODULES))
def test_redis_modules_refuse_bad_input(module, redis_server, bad_cases):
    client = redis_server.client()
    client.set("bad-input:flag-other", "keep")
    client.rpush("bad-input:queue", "a", "b")
    client.set("bad-input:x", "1")
    before = redis_snapshot(client)
    base, options = REDIS_MODULES[module]
    base = {"host": "127.0.0.1", "port": redis_server.port, "connect_timeout": 2, **base}
    results = bad_cases(module, base, {**redis_common(redis_server.port), **options})
    assert_refused(results)
    assert redis_snapshot(client) == before, "a refused input reached the server"


# ------------------------------------------------------------------------------------------------ Celery
CELERY_MODULES = {
    "stratum.ops.celery_info": ({"queues": ["bad-input"]}, {"workers": bad_text.map(lambda t: [t])}),
    "stratum.ops.celery_purge": (
        {"queue": "bad-input", "force": True},
        {"queue": bad_text, "allowed_queues": bad_text.map(lambda t: [t])},
    ),
}


@pytest.mark.parametrize("module", sorted(CELERY_MODULES))
def test_celery_modules_refuse_bad_input(module, redis_server, bad_cases):
    client = redis_server.client()
    client.rpush("bad-input", json.dumps({"task": "t"}), json.dumps({"task": "u"}))
    before = redis_snapshot(client)
    base, options = CELERY_MODULES[module]
    base = {"broker_url": f"{redis_server.url}", "timeout": 0.5, **base}
    common = {
        "broker_url": st.one_of(
            bad_url(("redis", "rediss"), redis_server.port, db_path=True),
            bad_url(("amqp", "amqps"), redis_server.port, db_path=False),
        ),
        "timeout": bad_timeout,
    }
    results = bad_cases(module, base, {**common, **options})
    assert_refused(results)
    assert redis_snapshot(client) == before, "a refused input reached the broker"


# ------------------------------------------------------------------------------------------------ PostgreSQL
def pg_snapshot(conn) -> tuple:
    with conn.cursor() as cur:
        cur.execute("SELECT relname, relfilenode FROM pg_class WHERE relname LIKE 'bad_input%' ORDER BY 1")
        relations = cur.fetchall()
        cur.execute("SELECT id, v FROM bad_input ORDER BY id")
        rows = cur.fetchall()
        cur.execute("SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'bad_input'")
        stats = cur.fetchall()
    return relations, rows, stats


PG_COMMON = {
    "login_port": bad_port,
    "login_host": bad_host,
    "connect_timeout": bad_int_timeout,
    "login_user": bad_text,
    "login_password": bad_text,
    "login_db": bad_text,
    "statement_timeout": bad_int_timeout,
}
BAD_IDLE_SECONDS = st.one_of(non_finite, st.floats(max_value=-0.001), st.floats(min_value=1e10, max_value=1e300))
PG_MODULES = {
    "stratum.ops.pg_terminate_backends": (
        {"usename": "bad_input_idle", "idle_seconds": 0},
        {"usename": bad_text, "idle_seconds": BAD_IDLE_SECONDS, "database": bad_text},
    ),
    "stratum.ops.pg_activity_info": ({}, {"long_running_seconds": st.one_of(non_finite, huge_int)}),
    "stratum.ops.pg_bloat_info": (
        {},
        {
            "threshold_pct": st.one_of(non_finite, st.floats(100.001, 1e9), st.floats(-1e9, -0.001)),
            "tables": bad_text.map(lambda t: [t]),
        },
    ),
    "stratum.ops.pg_maintenance": (
        {"operation": "vacuum", "objects": ["public.bad_input"]},
        {
            "lock_timeout": bad_timeout,
            "objects": st.one_of(
                st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1).map(
                    lambda d: [{"schema": d, "name": "bad_input"}]
                ),
                st.just([{"schema": {"a": 1}}]),
                bad_text.map(lambda t: [t]),
                st.just([""]),
                st.sampled_from(["view", "sequence", "x"]).map(lambda k: [{"name": "bad_input", "kind": k}]),
            ),
        },
    ),
}


@pytest.mark.parametrize("module", sorted(PG_MODULES))
def test_postgres_modules_refuse_bad_input(module, postgres_server, bad_cases):
    admin = postgres_server.connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bad_input (id int PRIMARY KEY, v text)")
        cur.execute("INSERT INTO bad_input VALUES (1, 'a'), (2, 'b') ON CONFLICT DO NOTHING")
        cur.execute("DO $$BEGIN CREATE ROLE bad_input_idle LOGIN PASSWORD 'idle'; EXCEPTION WHEN OTHERS THEN END$$")
    # An idle session pg_terminate_backends would end if a bad input got through.
    idle = postgres_server.connect(user="bad_input_idle", password="idle")
    try:
        before = pg_snapshot(admin)
        base, options = PG_MODULES[module]
        results = bad_cases(module, {**postgres_server.login_args(), **base}, {**PG_COMMON, **options})
        assert_refused(results)
        assert pg_snapshot(admin) == before, "a refused input changed the database"
        with idle.cursor() as cur:
            cur.execute("SELECT 1")  # still alive: not terminated
    finally:
        idle.close()
        admin.close()


# ------------------------------------------------------------------------------------------------ AWS (moto)
def aws_snapshot(moto, cluster: str, service: str) -> tuple:
    ecs = moto.client("ecs")
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    secrets = moto.client("secretsmanager").list_secrets()["SecretList"]
    return svc["taskDefinition"], svc["desiredCount"], sorted(s["Name"] for s in secrets)


@pytest.fixture(scope="module")
def ecs_service(moto):
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="bad-input")
    arns = [
        ecs.register_task_definition(
            family="bad-input", containerDefinitions=[{"name": "api", "image": f"api:{tag}", "memory": 64}]
        )["taskDefinition"]["taskDefinitionArn"]
        for tag in ("1", "2")
    ]
    ecs.create_service(cluster="bad-input", serviceName="svc", taskDefinition=arns[0], desiredCount=0)
    ecs.update_service(cluster="bad-input", service="svc", taskDefinition=arns[1])
    moto.client("secretsmanager").create_secret(Name="bad-input/secret", SecretString="s")
    return "bad-input", "svc"


def aws_common(moto) -> dict:
    return {
        "endpoint_url": http_url(int(moto.endpoint_url.rsplit(":", 1)[1])),
        "region": st.one_of(bad_text, st.sampled_from(["US EAST", "eu_west_1", "", "x" * 80])),
    }


def ecs_options(extra: dict) -> dict:
    return {
        "wait_timeout": bad_int_timeout,
        "poll_interval": st.one_of(non_finite, st.integers(max_value=0), st.integers(3601, 10**12)),
        "cluster": st.one_of(bad_text, st.just(""), long_label.map(lambda s: s * 40)),
        "service": st.one_of(bad_text, st.just("")),
        **extra,
    }


AWS_MODULES = {
    "stratum.ops.ecs_service_wait": ({"wait": False}, ecs_options({})),
    "stratum.ops.ecs_rollback": ({"wait": False}, ecs_options({"task_definition": bad_text})),
    "stratum.ops.secretsmanager_secret_info": (
        {"names": ["bad-input/secret"]},
        {"names": bad_text.map(lambda t: [t]), "max_age_days": st.one_of(negative_int, huge_int, non_finite)},
    ),
}


@pytest.mark.parametrize("module", sorted(AWS_MODULES))
def test_aws_modules_refuse_bad_input(module, moto, ecs_service, bad_cases):
    cluster, service = ecs_service
    before = aws_snapshot(moto, cluster, service)
    base, options = AWS_MODULES[module]
    base = {**moto.module_args(), **base}
    if module != "stratum.ops.secretsmanager_secret_info":
        base.update(cluster=cluster, service=service)
    results = bad_cases(module, base, {**aws_common(moto), **options}, env=moto.env)
    assert_refused(results)
    assert aws_snapshot(moto, cluster, service) == before, "a refused input changed AWS state"


# ------------------------------------------------------------------------------------------------ Kubernetes
def test_k8s_rollout_refuses_bad_input(k8s_double, bad_cases, tmp_path):
    double = k8s_double
    before = double.deployment()["metadata"].get("annotations"), double.deployment()["spec"]["template"]
    base = {
        "kubeconfig": str(double.kubeconfig),
        "namespace": "production",
        "name": "stratum-api",
        "action": "restart",
        "wait": False,
    }
    port = int(double.url.rsplit(":", 1)[1])
    bad_name = st.one_of(
        st.just(""), st.sampled_from(["Stratum-API", "api_v1", "-api", "a..b"]), long_label.map(lambda s: s * 5)
    )
    options = {
        "name": bad_name,
        "namespace": st.one_of(bad_name, long_label.map(lambda s: s[:70])),
        "host": http_url(port),
        "kubeconfig": st.one_of(st.integers(), st.booleans(), st.just(str(tmp_path / "missing"))),
        "ca_cert": st.just(str(tmp_path / "missing-ca.pem")),
        "wait_timeout": bad_int_timeout,
        "wait_sleep": bad_timeout,
        "context": bad_text,
        "api_key": bad_text,
    }
    results = bad_cases("stratum.ops.k8s_rollout", base, options)
    assert_refused(results)
    after = double.deployment()["metadata"].get("annotations"), double.deployment()["spec"]["template"]
    assert after == before, "a refused input changed the Deployment"


@pytest.fixture
def k8s_double(tmp_path):
    with K8sDouble(ready_delay=0.2, deadline_scale=0.005) as server:
        double = Double(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        double.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        double.create(deployment())
        double.wait_complete()
        yield double


# ------------------------------------------------------------------------------------------------ Alembic
def alembic_version(conn) -> list:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            return []
        cur.execute("SELECT version_num FROM alembic_version")
        return sorted(cur.fetchall())


def test_alembic_migration_refuses_bad_input(postgres_server, bad_cases, tmp_path):
    admin = postgres_server.connect()
    admin.autocommit = True
    before = alembic_version(admin)
    base = {
        "project_dir": str(ALEMBIC_PROJECT),
        "database_url": postgres_server.url,
        "action": "upgrade",
        "revision": "head",
    }
    options = {
        "url_env_var": st.one_of(
            st.just(""), st.text("0123456789", min_size=1, max_size=4), st.sampled_from(["A-B", "A B", "É"]), bad_text
        ),
        "executable": bad_text,
        "database_url": st.one_of(bad_text, st.sampled_from(["not a url", "localhost:5432/db", "://x"])),
        "config": bad_text,
        "project_dir": st.one_of(bad_text, st.just("")),
    }
    results = bad_cases("stratum.ops.alembic_migration", base, options)
    assert_refused(results)
    assert alembic_version(admin) == before, "a refused input migrated the database"
    admin.close()
