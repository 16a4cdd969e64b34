"""Every platform operation on ECS end to end: a playbook includes stratum.ops.platform with the test
inventory (stratum_platform: ecs) against moto; results are read back from ECS with boto3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.ansible_run import run_playbook

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "inventory"
PLATFORM_PLAYBOOK = HERE / "platform.yml"

CLUSTER, API, WORKERS = "stratum-test", "stratum-api", "stratum-workers"
SECRET_VALUE = "s3cr3t-Value-7781"


def platform(moto, op: str, check: bool = False, verbosity: int = 0, playbook=PLATFORM_PLAYBOOK, **extra):
    """Run one platform operation; returns (platform_result or None, run)."""
    run = run_playbook(
        playbook,
        inventory=INVENTORY,
        extra_vars={
            "platform_op": op,
            "stratum_aws": {"endpoint_url": moto.endpoint_url, "region": moto.region},
            "platform_poll_interval": 1,
            **extra,
        },
        check=check,
        verbosity=verbosity,
        env=moto.env,
    )
    shown = [t for t in run.tasks if t.task == "Show the result"]
    return (shown[-1]["platform_result"] if shown else None), run


@pytest.fixture
def api(ecs_fresh):
    """stratum-api on revision 1 (stratum/api:1.0, LOG_LEVEL=info), stable with 2 tasks."""
    ecs_fresh.cluster(CLUSTER)
    revision = ecs_fresh.register("stratum-api", "1.0", env={"LOG_LEVEL": "info"})
    ecs_fresh.service(CLUSTER, API, revision, desired=2)
    return ecs_fresh


def image_of(ecs, service: str = API) -> str:
    ref = ecs.describe(CLUSTER, service)["taskDefinition"]
    return ecs.ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]["containerDefinitions"][0]["image"]


def env_of(ecs, service: str = API) -> dict[str, str]:
    ref = ecs.describe(CLUSTER, service)["taskDefinition"]
    container = ecs.ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]["containerDefinitions"][0]
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def test_status_reports_revision_image_and_counts(moto, api):
    result, run = platform(moto, "status")

    assert run.rc == 0, run.output[-3000:]
    assert result["platform"] == "ecs" and result["service"] == "api" and result["operation"] == "status"
    assert result["changed"] is False
    assert result["state"] == "running" and result["reason"] == ""
    assert (result["revision"], result["image"], result["version"]) == ("stratum-api:1", "stratum/api:1.0", "1.0")
    assert (result["ready"], result["desired"]) == (2, 2)


def test_deploy_check_mode_then_deploy_then_again_unchanged(moto, api):
    planned, run = platform(moto, "deploy", check=True, platform_version="1.1")
    assert run.rc == 0, run.output[-3000:]
    assert planned["changed"] is True
    assert "register a new revision" in planned["plan"]
    assert api.current(CLUSTER, API).endswith("stratum-api:1")
    assert api.revision_count("stratum-api") == 1

    result, run = platform(moto, "deploy", platform_version="1.1")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["revision"], result["image"], result["version"]) == ("stratum-api:2", "stratum/api:1.1", "1.1")
    assert (result["previous_revision"], result["previous_image"], result["previous_version"]) == (
        "stratum-api:1",
        "stratum/api:1.0",
        "1.0",
    )
    assert result["state"] == "running" and result["ready"] == result["desired"] == 2
    assert api.current(CLUSTER, API) == "stratum-api:2"
    assert image_of(api) == "stratum/api:1.1"
    assert env_of(api) == {"LOG_LEVEL": "info"}  # the rest of the task definition is carried over

    again, run = platform(moto, "deploy", platform_version="1.1")
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False
    assert api.revision_count("stratum-api") == 2


def test_deploy_without_a_version_fails_clearly(moto, api):
    _result, run = platform(moto, "deploy")
    assert run.rc != 0
    assert "needs platform_version" in json.dumps([t.result for t in run.failed_tasks()])


def test_rollback_check_mode_then_rollback_and_explicit_target(moto, api):
    for tag in ("1.1", "1.2"):
        api.move(CLUSTER, API, api.register("stratum-api", tag, env={"LOG_LEVEL": "info"}))

    planned, run = platform(moto, "rollback", check=True)
    assert run.rc == 0, run.output[-3000:]
    assert planned["changed"] is True
    assert (planned["from_revision"], planned["to_revision"]) == ("stratum-api:3", "stratum-api:2")
    assert planned["to_version"] == "1.1"
    assert api.current(CLUSTER, API) == "stratum-api:3"

    result, run = platform(moto, "rollback")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["from_revision"], result["to_revision"]) == ("stratum-api:3", "stratum-api:2")
    assert (result["from_version"], result["to_version"]) == ("1.2", "1.1")
    assert result["revision"] == "stratum-api:2" and result["image"] == "stratum/api:1.1"
    assert api.current(CLUSTER, API) == "stratum-api:2"

    explicit, run = platform(moto, "rollback", platform_to_revision="stratum-api:1")
    assert run.rc == 0, run.output[-3000:]
    assert explicit["to_revision"] == "stratum-api:1" and explicit["version"] == "1.0"
    assert api.current(CLUSTER, API) == "stratum-api:1"


def test_rollback_of_a_service_that_never_stabilises_names_service_platform_and_reason(moto, ecs_fresh):
    ecs_fresh.cluster(CLUSTER)
    ecs_fresh.register("stratum-api", "1.0")
    ecs_fresh.service(CLUSTER, API, ecs_fresh.register("stratum-api", "1.1"), desired=2, stable=False)

    _result, run = platform(moto, "rollback", platform_wait_timeout=1)

    assert run.rc != 0
    failure = run.failed_tasks()[-1]
    assert failure.task.endswith("Platform | ECS | fail with the reason")
    msg = failure["msg"]
    assert msg.startswith("stratum-api rollback failed on ecs:")
    assert "did not become stable within 1s" in msg and "0/2 tasks running" in msg
    assert "Traceback" not in run.output


def test_restart_starts_a_new_deployment_and_check_mode_does_not(moto, api):
    before = api.describe(CLUSTER, API)["deployments"][0]["id"]

    planned, run = platform(moto, "restart", check=True)
    assert run.rc == 0, run.output[-3000:]
    assert planned["changed"] is True
    assert api.describe(CLUSTER, API)["deployments"][0]["id"] == before

    result, run = platform(moto, "restart")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert result["previous_deployment_id"] == before
    assert result["deployment_id"] != before
    assert api.describe(CLUSTER, API)["deployments"][0]["id"] == result["deployment_id"]
    assert result["revision"] == "stratum-api:1" and result["state"] == "running"


def test_scale_check_mode_then_scale_then_again_unchanged(moto, api):
    planned, run = platform(moto, "scale", check=True, platform_replicas=4)
    assert run.rc == 0, run.output[-3000:]
    assert planned["changed"] is True
    assert api.describe(CLUSTER, API)["desiredCount"] == 2

    result, run = platform(moto, "scale", platform_replicas=4)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True and result["previous_desired"] == 2
    assert (result["desired"], result["ready"]) == (4, 4)
    assert api.describe(CLUSTER, API)["desiredCount"] == 4

    again, run = platform(moto, "scale", platform_replicas=4)
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False


def test_set_env_changes_keys_without_showing_values(moto, api):
    wanted = {"API_TOKEN": SECRET_VALUE, "LOG_LEVEL": "debug"}

    planned, run = platform(moto, "set_env", check=True, platform_env=wanted, verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert planned["changed"] is True and planned["changed_keys"] == ["API_TOKEN", "LOG_LEVEL"]
    assert SECRET_VALUE not in run.output
    assert env_of(api) == {"LOG_LEVEL": "info"}

    result, run = platform(moto, "set_env", platform_env=wanted, verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert SECRET_VALUE not in run.output
    assert result["changed"] is True and result["changed_keys"] == ["API_TOKEN", "LOG_LEVEL"]
    assert result["revision"] == "stratum-api:2" and result["state"] == "running"
    assert env_of(api) == wanted

    again, run = platform(moto, "set_env", platform_env=wanted)
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False and again["changed_keys"] == []

    unset, run = platform(moto, "set_env", platform_env={"API_TOKEN": None})
    assert run.rc == 0, run.output[-3000:]
    assert unset["changed"] is True and unset["changed_keys"] == ["API_TOKEN"]
    assert env_of(api) == {"LOG_LEVEL": "debug"}


def test_config_reads_env_and_secrets_with_values_only_in_the_no_log_fact(moto, ecs_fresh):
    secrets_manager, ssm = moto.client("secretsmanager"), moto.client("ssm")
    db = secrets_manager.create_secret(Name="stratum/db", SecretString=json.dumps({"password": SECRET_VALUE}))["ARN"]
    token = secrets_manager.create_secret(Name="stratum/token", SecretString="token-Value-4410")["ARN"]
    ssm.put_parameter(Name="/stratum/flag", Value="flag-Value-9921", Type="SecureString")
    ecs_fresh.cluster(CLUSTER)
    revision = ecs_fresh.register(
        "stratum-api",
        "1.0",
        env={"LOG_LEVEL": "info"},
        secrets=[
            {"name": "DB_PASSWORD", "valueFrom": f"{db}:password::"},
            {"name": "API_TOKEN", "valueFrom": token},
            {"name": "FEATURE_FLAG", "valueFrom": "/stratum/flag"},
        ],
    )
    ecs_fresh.service(CLUSTER, API, revision)
    expected = {
        "LOG_LEVEL": "info",
        "DB_PASSWORD": SECRET_VALUE,
        "API_TOKEN": "token-Value-4410",
        "FEATURE_FLAG": "flag-Value-9921",
    }

    result, run = platform(
        moto,
        "config",
        playbook=PLATFORM_PLAYBOOK.parent / "config_check.yml",
        platform_expected_config=expected,
        verbosity=3,
    )

    assert run.rc == 0, run.output[-3000:]  # includes the in-play check platform_config == expected
    assert result["names"] == sorted(expected)
    assert result["secret_names"] == ["API_TOKEN", "DB_PASSWORD", "FEATURE_FLAG"]
    for value in (SECRET_VALUE, "token-Value-4410", "flag-Value-9921"):
        assert value not in run.output


def test_unknown_cluster_fails_with_a_clear_message(moto, ecs_fresh):
    _result, run = platform(moto, "status")
    assert run.rc != 0
    assert "ECS cluster 'stratum-test' not found" in json.dumps([t.result for t in run.failed_tasks()])
    assert "Traceback" not in run.output
