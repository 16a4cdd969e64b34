"""Pure ECS logic from plugins/module_utils/ecs.py: previous revision, stability, waits, edits."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils import ecs as ecs_utils
from ansible_collections.stratum.ops.plugins.module_utils.ecs import (
    EcsError,
    ServiceNotStable,
    choose_previous_task_definition,
    env_changes,
    evaluate_stability,
    image_version,
    parse_secret_reference,
    parse_task_definition,
    platform_status,
    revise_task_definition,
    same_task_definition,
    wait_for_stable,
    with_env,
    with_image,
)

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/stratum-api:42"


def service(running=2, desired=2, rollout="COMPLETED", deployments=None, **extra):
    primary = {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": ARN, "rolloutState": rollout}
    return {
        "serviceName": "stratum-api",
        "status": "ACTIVE",
        "taskDefinition": ARN,
        "runningCount": running,
        "desiredCount": desired,
        "deployments": deployments if deployments is not None else [primary],
        **extra,
    }


# ------------------------------------------------------------------ references


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (ARN, ("stratum-api", 42)),
        ("stratum-api:42", ("stratum-api", 42)),
        ("stratum-api", ("stratum-api", None)),
    ],
)
def test_task_definition_references_parse_in_every_form(ref, expected):
    assert parse_task_definition(ref) == expected


def test_arn_and_label_name_the_same_revision():
    assert same_task_definition(ARN, "stratum-api:42")
    assert not same_task_definition(ARN, "stratum-api:41")
    assert not same_task_definition(None, "stratum-api:41")


def test_bad_revision_is_rejected():
    with pytest.raises(EcsError, match="not family:revision"):
        parse_task_definition("stratum-api:latest")


# ------------------------------------------------------------------ previous revision


def always_active(_ref):
    return True


def test_previous_is_an_earlier_deployment_the_service_still_reports():
    deployments = [
        {"status": "PRIMARY", "taskDefinition": ARN, "createdAt": "2026-01-03"},
        {"status": "ACTIVE", "taskDefinition": "stratum-api:39", "createdAt": "2026-01-01"},
        {"status": "ACTIVE", "taskDefinition": "stratum-api:40", "createdAt": "2026-01-02"},
    ]
    target = choose_previous_task_definition(ARN, deployments, always_active, lambda family: [42, 41])
    assert (target.task_definition, target.source) == ("stratum-api:40", "deployment")


def test_a_deployment_on_a_deregistered_revision_is_skipped():
    deployments = [
        {"status": "PRIMARY", "taskDefinition": ARN},
        {"status": "ACTIVE", "taskDefinition": "stratum-api:40", "createdAt": "2026-01-02"},
    ]
    target = choose_previous_task_definition(
        ARN, deployments, lambda ref: not ref.endswith(":40"), lambda family: [42, 41, 38]
    )
    assert (target.task_definition, target.source) == ("stratum-api:41", "family")


def test_previous_is_the_highest_active_revision_below_the_current_one():
    # 44 is newer than the current revision (deployed elsewhere, or a rollback happened): never "previous"
    target = choose_previous_task_definition("stratum-api:42", [], always_active, lambda family: [44, 40, 37])
    assert target.task_definition == "stratum-api:40"


def test_no_earlier_active_revision_is_a_clear_error():
    with pytest.raises(EcsError, match="no earlier ACTIVE revision of task definition family 'stratum-api'"):
        choose_previous_task_definition("stratum-api:3", [], always_active, lambda family: [3, 5])


# ------------------------------------------------------------------ stability


def test_a_completed_single_deployment_at_full_count_is_stable():
    state = evaluate_stability(service())
    assert state.stable and state.state == "running" and state.reason == ""


def test_missing_tasks_keep_the_service_progressing():
    state = evaluate_stability(service(running=1, desired=3))
    assert not state.stable and state.state == "progressing"
    assert "1/3 tasks running" in state.reason


def test_a_rollout_in_progress_is_not_stable_even_at_full_count():
    state = evaluate_stability(service(rollout="IN_PROGRESS"))
    assert not state.stable and "rollout in progress" in state.reason


def test_an_older_deployment_still_running_is_not_stable():
    deployments = [
        {"status": "PRIMARY", "taskDefinition": ARN, "rolloutState": "COMPLETED"},
        {"status": "ACTIVE", "taskDefinition": "stratum-api:41"},
    ]
    state = evaluate_stability(service(deployments=deployments))
    assert not state.stable and "1 older deployment(s) still active" in state.reason


def test_a_failed_rollout_is_failed_with_the_ecs_reason():
    primary = {"status": "PRIMARY", "rolloutState": "FAILED", "rolloutStateReason": "ECS deployment circuit breaker"}
    state = evaluate_stability(service(deployments=[primary]))
    assert state.state == "failed" and "circuit breaker" in state.reason


def test_deployments_without_rollout_state_rely_on_counts():
    state = evaluate_stability(service(deployments=[{"status": "PRIMARY", "taskDefinition": ARN}]))
    assert state.stable


def test_unhealthy_targets_block_stability_and_draining_ones_do_not():
    targets = [
        {"Target": {"Id": "10.0.0.1"}, "TargetHealth": {"State": "healthy"}},
        {"Target": {"Id": "10.0.0.2"}, "TargetHealth": {"State": "draining"}},
    ]
    assert evaluate_stability(service(), targets).stable
    targets.append({"Target": {"Id": "10.0.0.3"}, "TargetHealth": {"State": "unhealthy"}})
    state = evaluate_stability(service(), targets)
    assert not state.stable and "1 load balancer target(s) not healthy (unhealthy)" in state.reason


def test_no_registered_target_yet_is_not_stable():
    assert not evaluate_stability(service(), []).stable


def test_a_service_scaled_to_zero_is_stable_and_stopped():
    state = evaluate_stability(service(running=0, desired=0))
    assert state.stable and state.state == "stopped"


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_once_the_service_is_stable():
    clock = FakeClock()
    reads = iter([service(running=0), service(running=1), service(running=2)])
    result = wait_for_stable(lambda: next(reads), None, 60, 5, clock=clock, sleep=clock.sleep)
    assert result.state.stable
    assert clock.sleeps == [5, 5]


def test_wait_gives_up_after_the_timeout_with_the_reason_and_last_event():
    clock = FakeClock()
    stuck = service(running=0, events=[{"createdAt": "2026-01-01", "message": "unable to place a task"}])
    with pytest.raises(ServiceNotStable) as caught:
        wait_for_stable(lambda: stuck, None, 12, 5, clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert "did not become stable within 12s" in message
    assert "0/2 tasks running" in message
    assert "unable to place a task" in message
    assert clock.now == 12  # the last sleep is cut to the deadline


def test_wait_stops_at_once_on_a_failed_rollout():
    clock = FakeClock()
    primary = {"status": "PRIMARY", "rolloutState": "FAILED", "rolloutStateReason": "tasks failed"}
    failed = service(deployments=[primary])
    with pytest.raises(ServiceNotStable, match="rollout of stratum-api failed: tasks failed"):
        wait_for_stable(lambda: failed, None, 600, 5, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_wait_checks_target_health_when_asked():
    clock = FakeClock()
    health = iter([[{"TargetHealth": {"State": "initial"}}], [{"TargetHealth": {"State": "healthy"}}]])
    result = wait_for_stable(service, lambda svc: next(health), 60, 1, clock=clock, sleep=clock.sleep)
    assert result.state.stable and clock.sleeps == [1]


class FakeElbv2:
    def __init__(self):
        self.asked: list[str] = []

    def describe_target_health(self, TargetGroupArn, aws_retry=False):
        self.asked.append(TargetGroupArn)
        return {"TargetHealthDescriptions": [{"TargetHealth": {"State": "healthy"}}]}


def test_target_health_reads_every_target_group_and_skips_services_without_one():
    elbv2 = FakeElbv2()
    assert ecs_utils.target_health(elbv2, service()) is None
    lbs = [{"targetGroupArn": "tg-a"}, {"loadBalancerName": "classic"}, {"targetGroupArn": "tg-b"}]
    assert len(ecs_utils.target_health(elbv2, service(loadBalancers=lbs))) == 2
    assert elbv2.asked == ["tg-a", "tg-b"]


# ------------------------------------------------------------------ container edits


CONTAINERS = [
    {
        "name": "api",
        "image": "stratum/api:1.0",
        "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "OLD", "value": "x"}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC"}],
    },
    {"name": "sidecar", "image": "envoy:1.29"},
]


def test_with_image_changes_only_the_named_container():
    updated = with_image(CONTAINERS, "api", "stratum/api:1.1")
    assert [c["image"] for c in updated] == ["stratum/api:1.1", "envoy:1.29"]
    assert CONTAINERS[0]["image"] == "stratum/api:1.0"


def test_unknown_container_names_the_ones_that_exist():
    with pytest.raises(EcsError, match="containers: api, sidecar"):
        with_image(CONTAINERS, "web", "x:1")


def test_env_changes_lists_only_keys_that_differ():
    assert env_changes(CONTAINERS[0], {"LOG_LEVEL": "info", "NEW": 1, "OLD": None, "GONE": None}) == ["NEW", "OLD"]


def test_setting_a_secret_as_a_plain_variable_is_refused():
    with pytest.raises(EcsError, match="DB_PASSWORD come"):
        env_changes(CONTAINERS[0], {"DB_PASSWORD": "plain"})


def test_with_env_sets_and_unsets_variables():
    updated = with_env(CONTAINERS, "api", {"LOG_LEVEL": "debug", "OLD": None, "WORKERS": 4})
    assert updated[0]["environment"] == [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "WORKERS", "value": "4"}]
    assert updated[0]["secrets"] == CONTAINERS[0]["secrets"]


def test_revise_carries_the_task_definition_settings():
    definition = {
        "family": "stratum-api",
        "revision": 7,
        "containerDefinitions": CONTAINERS,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "arn:aws:iam::1:role/exec",
    }
    args = revise_task_definition(definition, "api", image="stratum/api:2.0")
    assert args["family"] == "stratum-api"
    assert args["launch_type"] == "FARGATE" and args["network_mode"] == "awsvpc"
    assert (args["cpu"], args["memory"]) == ("256", "512")
    assert args["execution_role_arn"] == "arn:aws:iam::1:role/exec" and args["task_role_arn"] == ""
    assert args["containers"][0]["image"] == "stratum/api:2.0"


def test_revise_refuses_settings_it_cannot_carry():
    definition = {"family": "f", "revision": 1, "containerDefinitions": CONTAINERS, "pidMode": "task"}
    with pytest.raises(EcsError, match="uses pidMode"):
        revise_task_definition(definition, "api", image="x:1")


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("stratum/api:1.4.2", "1.4.2"),
        ("registry.example.com:5000/stratum/api:1.4.2", "1.4.2"),
        ("registry.example.com:5000/stratum/api", "latest"),
        ("stratum/api@sha256:abc", "sha256:abc"),
    ],
)
def test_image_version_reads_the_tag(image, version):
    assert image_version(image) == version


def test_platform_status_reads_the_container_image_and_counts():
    read = {
        "revision": "stratum-api:7",
        "state": "running",
        "reason": "",
        "containers": [{"name": "api", "image": "stratum/api:1.4.2"}],
        "service": {"running_count": 3, "desired_count": 3},
    }
    status = platform_status(read, "api")
    assert status["image"] == "stratum/api:1.4.2" and status["version"] == "1.4.2"
    assert (status["ready"], status["desired"], status["revision"]) == (3, 3, "stratum-api:7")


def test_secret_references_point_at_secrets_manager_or_ssm():
    ref = parse_secret_reference("arn:aws:secretsmanager:us-east-1:1:secret:stratum/db-AbC:password::")
    assert ref["source"] == "secretsmanager"
    assert ref["id"] == "arn:aws:secretsmanager:us-east-1:1:secret:stratum/db-AbC"
    assert ref["json_key"] == "password"
    assert parse_secret_reference("arn:aws:ssm:us-east-1:1:parameter/stratum/flag")["id"] == "/stratum/flag"
    assert parse_secret_reference("/stratum/flag") == {"source": "ssm", "id": "/stratum/flag", "json_key": ""}


class FakeEcsPages:
    """list_task_definitions in pages of two, newest first, across two families sharing a prefix."""

    def __init__(self, arns: list[str]):
        self.pages = [arns[i : i + 2] for i in range(0, len(arns), 2)]
        self.calls = 0

    def list_task_definitions(self, familyPrefix, status, sort, nextToken=None, aws_retry=False):
        index = int(nextToken or 0)
        self.calls += 1
        page = {"taskDefinitionArns": self.pages[index]}
        if index + 1 < len(self.pages):
            page["nextToken"] = str(index + 1)
        return page


def test_active_revisions_ignore_other_families_and_stop_paging_once_below():
    arns = [
        f"arn:aws:ecs:us-east-1:1:task-definition/{name}"
        for name in ("api-worker:9", "api:8", "api:7", "api:5", "api:3", "api:2", "api:1")
    ]
    client = FakeEcsPages(arns)
    assert ecs_utils.list_active_revisions(client, "api") == [8, 7, 5, 3, 2, 1]
    client = FakeEcsPages(arns)
    assert max(r for r in ecs_utils.list_active_revisions(client, "api", stop_below=8) if r < 8) == 7
    assert client.calls == 2
