"""secret_rotation role through ansible-playbook: Secrets Manager and ECS on moto, sessions in a real Redis."""

from __future__ import annotations

import pytest
from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "secret_rotation.yml"
CLUSTER = "stratum-secrets"
JWT = "stratum/test/jwt-secret"
PII = "stratum/test/pii-encryption-key"
OLD_JWT = "old-jwt-value-0123456789-abcdefghijklmnop"
OLD_PII = "old-pii-value-0123456789-abcdefghijklmnop"


@pytest.fixture
def aws(moto):
    moto.reset()
    sm = moto.client("secretsmanager")
    sm.create_secret(Name=JWT, SecretString=OLD_JWT, Description="JWT signing key")
    sm.create_secret(Name=PII, SecretString=OLD_PII)
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    td = ecs.register_task_definition(
        family="stratum-api", containerDefinitions=[{"name": "api", "image": "stratum/api:1.4.2", "memory": 128}]
    )["taskDefinition"]
    ecs.create_service(cluster=CLUSTER, serviceName="stratum-api", taskDefinition=f"stratum-api:{td['revision']}")
    return moto


@pytest.fixture
def sessions(redis_server):
    client = redis_server.client()
    for i in range(50):
        client.set(f"session:{i}", "user")
    client.set("cache:analytics:1", "keep")
    client.set("user:1", "keep")
    return redis_server


def value(moto, name: str) -> str:
    return moto.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def play(moto, redis=None, check=False, verbosity=0, **extra):
    extra_vars = {
        "stratum_environment": "test",
        "stratum_platform": "ecs",
        "stratum_services": {
            "api": {"ecs": {"cluster": CLUSTER, "service": "stratum-api", "container": "api"}, "image": "stratum/api"}
        },
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
        "secret_rotation_restart_services": ["api"],
        "secret_rotation_verify_url": "",
        "platform_poll_interval": 1,
        "platform_wait_timeout": 60,
        **extra,
    }
    if redis is not None:
        extra_vars["stratum_redis"] = {"url": redis.url}
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, verbosity=verbosity, env=dict(moto.env))


def test_triage_reports_ages_and_reads_no_value(aws):
    run = play(aws, verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["secret_rotation_report"]
    assert [s["name"] for s in report["secrets"]] == [JWT, PII]
    assert report["due"] == [] and report["missing"] == []
    assert all(s["age_days"] < 1 for s in report["secrets"])
    assert OLD_JWT not in run.output and OLD_PII not in run.output
    assert value(aws, JWT) == OLD_JWT


def test_forced_rotation_writes_new_values_that_never_appear_in_output(aws, sessions):
    run = play(
        aws,
        redis=sessions,
        verbosity=3,
        secret_rotation_force=True,
        secret_rotation_confirm_encryption_keys=True,
        secret_rotation_actions=["rotate", "restart", "invalidate_sessions"],
    )
    assert run.rc == 0, run.output[-3000:]
    new_jwt, new_pii = value(aws, JWT), value(aws, PII)
    assert new_jwt != OLD_JWT and new_pii != OLD_PII and new_jwt != new_pii
    assert len(new_jwt) == 48 and new_jwt.isalnum()
    for secret in (new_jwt, new_pii, OLD_JWT, OLD_PII):
        assert secret not in run.output
    # Description kept; the api was restarted; only session keys are gone.
    assert aws.client("secretsmanager").describe_secret(SecretId=JWT)["Description"] == "JWT signing key"
    report = run.custom_stats["_run"]["secret_rotation_report"]
    assert report["rotated"] == [JWT, PII]
    assert report["restarted"] == ["api"]
    assert report["sessions_removed"] == 50
    client = sessions.client()
    assert client.keys("session:*") == []
    assert client.get("cache:analytics:1") == b"keep" and client.get("user:1") == b"keep"


def test_second_scheduled_run_finds_nothing_due_and_changes_nothing(aws, sessions):
    actions = ["rotate", "restart", "invalidate_sessions"]
    run = play(aws, redis=sessions, secret_rotation_actions=actions)
    assert run.rc == 0, run.output[-3000:]
    assert [t.task for t in run.tasks if t.changed] == []
    assert value(aws, JWT) == OLD_JWT
    assert len(sessions.client().keys("session:*")) == 50


def test_check_mode_rotates_nothing(aws, sessions):
    run = play(
        aws,
        redis=sessions,
        check=True,
        secret_rotation_force=True,
        secret_rotation_confirm_encryption_keys=True,
        secret_rotation_actions=["rotate", "invalidate_sessions"],
    )
    assert run.rc == 0, run.output[-3000:]
    assert value(aws, JWT) == OLD_JWT and value(aws, PII) == OLD_PII
    assert len(sessions.client().keys("session:*")) == 50
    assert "Would rotate" in run.stdout or "Rotated" in run.stdout


@pytest.mark.parametrize("confirm", [False, "false"], ids=["bool", "string from -e or an AWX survey"])
def test_encryption_key_rotation_needs_confirmation(aws, confirm):
    run = play(
        aws,
        secret_rotation_force="true",
        secret_rotation_confirm_encryption_keys=confirm,
        secret_rotation_actions=["rotate"],
    )
    assert run.rc != 0
    msg = run.failed_tasks()[0]["msg"]
    assert "would rotate encryption keys" in msg and PII in msg
    assert value(aws, JWT) == OLD_JWT and value(aws, PII) == OLD_PII


def test_missing_secret_fails_clearly(aws):
    run = play(
        aws,
        secret_rotation_force=True,
        secret_rotation_actions=["rotate"],
        secret_rotation_secrets=[{"name": "stratum/test/nope"}],
    )
    assert run.rc != 0
    assert "missing secrets stratum/test/nope" in run.failed_tasks()[0]["msg"]


def test_unknown_action_is_refused(aws):
    run = play(aws, secret_rotation_actions=["flushdb"])
    assert run.rc != 0
    assert "secret_rotation_actions" in run.failed_tasks()[0]["msg"]
    assert value(aws, JWT) == OLD_JWT


def test_forced_rotation_for_a_ticket_happens_once(aws):
    args = {
        "secret_rotation_force": True,
        "secret_rotation_ticket": "INC-4242",
        "secret_rotation_actions": ["rotate"],
        "secret_rotation_secrets": [{"name": JWT, "invalidates_sessions": True}],
    }
    run = play(aws, **args)
    assert run.rc == 0, run.output[-3000:]
    rotated = value(aws, JWT)
    assert rotated != OLD_JWT
    tags = aws.client("secretsmanager").describe_secret(SecretId=JWT)["Tags"]
    assert {"Key": "stratum:rotation-ticket", "Value": "INC-4242"} in tags
    again = play(aws, **args)
    assert again.rc == 0, again.output[-3000:]
    assert value(aws, JWT) == rotated
    assert [t.task for t in again.tasks if t.changed] == []
    # A new ticket rotates again.
    third = play(aws, **{**args, "secret_rotation_ticket": "INC-4243"})
    assert third.rc == 0, third.output[-3000:]
    assert value(aws, JWT) not in (rotated, OLD_JWT)
