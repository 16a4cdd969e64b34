"""stratum.ops.ecs_rollback and stratum.ops.ecs_service_wait against moto, through Ansible."""

from __future__ import annotations

from harness.ansible_run import assert_clean_failure, run_module


def rollback(moto, check: bool = False, env: dict | None = None, verbosity: int = 0, **args):
    return run_module(
        "stratum.ops.ecs_rollback",
        {"poll_interval": 1, **moto.module_args(), **args},
        check=check,
        env={**moto.env, **(env or {})},
        verbosity=verbosity,
    )


def service_wait(moto, env: dict | None = None, **args):
    return run_module(
        "stratum.ops.ecs_service_wait",
        {"poll_interval": 1, **moto.module_args(), **args},
        env={**moto.env, **(env or {})},
    )


def deployed_family(ecs, tags: list[str]) -> tuple[str, str, str]:
    """A cluster and a stable service deployed successively with every tag; returns (cluster, service, family)."""
    cluster = ecs.cluster()
    family = ecs.unique("api")
    revisions = [ecs.register(family, tag) for tag in tags]
    service = ecs.service(cluster, ecs.unique("svc"), revisions[0])
    for revision in revisions[1:]:
        ecs.move(cluster, service, revision)
    return cluster, service, family


def test_rollback_goes_to_the_previous_revision_after_several_deploys(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2", "1.3"])

    result, _run = rollback(moto, cluster=cluster, service=service)

    assert not result.failed, result.result
    assert result.changed and result["rolled_back"]
    assert result["from_task_definition"] == f"{family}:4"
    assert result["to_task_definition"] == f"{family}:3"
    assert result["target_source"] == "family"
    assert result["stable"] is True
    assert ecs.current(cluster, service) == f"{family}:3"
    assert result["service"]["revision"] == f"{family}:3"
    assert result["service"]["running_count"] == result["service"]["desired_count"] == 2

    # rolling back again walks one more revision back
    result, _run = rollback(moto, cluster=cluster, service=service)
    assert result["to_task_definition"] == f"{family}:2"
    assert ecs.current(cluster, service) == f"{family}:2"


def test_rollback_skips_deregistered_revisions(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2", "1.3", "1.4"])
    ecs.deregister(f"{family}:4")
    ecs.deregister(f"{family}:3")

    result, _run = rollback(moto, cluster=cluster, service=service)

    assert result["from_task_definition"] == f"{family}:5"
    assert result["to_task_definition"] == f"{family}:2"
    assert ecs.current(cluster, service) == f"{family}:2"


def test_rollback_handles_a_service_that_reports_a_full_arn(moto, ecs):
    # create_service stores the ARN (as AWS reports it); later moves store family:revision (moto's quirk)
    cluster = ecs.cluster()
    family = ecs.unique("api")
    ecs.register(family, "1.0")
    second = ecs.register(family, "1.1")
    service = ecs.service(cluster, ecs.unique("svc"), second)
    assert ecs.describe(cluster, service)["taskDefinition"].startswith("arn:aws:ecs:")

    result, _run = rollback(moto, cluster=cluster, service=service)

    assert result["from_task_definition"] == f"{family}:2"
    assert result["to_task_definition"] == f"{family}:1"


def test_explicit_target_by_revision_and_by_arn(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2", "1.3"])

    result, _run = rollback(moto, cluster=cluster, service=service, task_definition=f"{family}:1")
    assert result.changed and result["to_task_definition"] == f"{family}:1"
    assert result["target_source"] == "explicit"
    assert ecs.current(cluster, service) == f"{family}:1"

    arn = f"arn:aws:ecs:{moto.region}:123456789012:task-definition/{family}:3"
    result, _run = rollback(moto, cluster=cluster, service=service, task_definition=arn)
    assert result.changed and result["to_task_definition"] == f"{family}:3"
    assert ecs.current(cluster, service) == f"{family}:3"


def test_explicit_deregistered_target_fails_clearly(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2"])
    ecs.deregister(f"{family}:1")

    result, _run = rollback(moto, cluster=cluster, service=service, task_definition=f"{family}:1")

    assert_clean_failure(result, f"{family}:1", "INACTIVE")
    assert ecs.current(cluster, service) == f"{family}:3"


def test_check_mode_reports_from_and_to_and_changes_nothing(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2"])
    before = ecs.describe(cluster, service)

    result, _run = rollback(moto, check=True, cluster=cluster, service=service)

    assert result.changed and result["rolled_back"]
    assert (result["from_task_definition"], result["to_task_definition"]) == (f"{family}:3", f"{family}:2")
    after = ecs.describe(cluster, service)
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["deployments"] == before["deployments"]


def test_second_run_on_the_target_is_not_a_change(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2"])

    first, _run = rollback(moto, cluster=cluster, service=service, task_definition=f"{family}:1")
    second, _run = rollback(moto, cluster=cluster, service=service, task_definition=f"{family}:1")

    assert first.changed
    assert not second.failed and not second.changed
    assert second["rolled_back"] is False
    assert second["from_task_definition"] == second["to_task_definition"] == f"{family}:1"
    assert ecs.current(cluster, service) == f"{family}:1"


def test_no_earlier_revision_fails_clearly(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0"])

    result, _run = rollback(moto, cluster=cluster, service=service)

    assert_clean_failure(result, "no earlier ACTIVE revision", family)
    assert ecs.current(cluster, service).endswith(f"{family}:1")


def test_only_deregistered_earlier_revisions_fail_clearly(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1", "1.2"])
    ecs.deregister(f"{family}:1")
    ecs.deregister(f"{family}:2")

    result, _run = rollback(moto, cluster=cluster, service=service)

    assert_clean_failure(result, "no earlier ACTIVE revision", "deregistered")
    assert ecs.current(cluster, service) == f"{family}:3"


def test_service_that_never_stabilises_fails_after_wait_timeout(moto, ecs):
    cluster = ecs.cluster()
    family = ecs.unique("api")
    ecs.register(family, "1.0")
    service = ecs.service(cluster, ecs.unique("svc"), ecs.register(family, "1.1"), desired=2, stable=False)

    result, _run = rollback(moto, cluster=cluster, service=service, wait_timeout=2)

    assert_clean_failure(result, service, "did not become stable within 2s", "0/2 tasks running")
    assert result["rolled_back"] is True
    assert result["to_task_definition"] == f"{family}:1"
    assert ecs.current(cluster, service) == f"{family}:1"


def test_unknown_cluster_gives_a_clear_message(moto, ecs):
    result, _run = rollback(moto, cluster="no-such-cluster", service="stratum-api")
    assert_clean_failure(result, "cluster 'no-such-cluster' not found")


def test_unknown_service_gives_a_clear_message(moto, ecs):
    cluster = ecs.cluster()
    result, _run = rollback(moto, cluster=cluster, service="no-such-service")
    assert_clean_failure(result, "service 'no-such-service' not found", cluster)


def test_backend_down_gives_a_clear_failure(moto):
    args = {**moto.module_args(), "endpoint_url": "http://127.0.0.1:9"}
    result, _run = run_module(
        "stratum.ops.ecs_rollback",
        {"cluster": "c", "service": "s", **args},
        env={**moto.env, "AWS_MAX_ATTEMPTS": "1"},
    )
    assert_clean_failure(result, "cannot roll back ECS service s", "connect")


def test_throttling_is_retried(moto, ecs, throttling_proxy):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1"])
    proxy = throttling_proxy(2, ("DescribeServices", "UpdateService"))
    args = {**moto.module_args(), "endpoint_url": proxy.endpoint_url}

    # botocore's own retries off: only AWSRetry.jittered_backoff can get past the throttling
    result, _run = run_module(
        "stratum.ops.ecs_rollback",
        {"cluster": cluster, "service": service, "poll_interval": 1, **args},
        env={**moto.env, "AWS_MAX_ATTEMPTS": "1"},
    )

    assert not result.failed, result.result
    assert len(proxy.throttled) == 2
    assert result["to_task_definition"] == f"{family}:1"
    assert ecs.current(cluster, service) == f"{family}:1"


def test_service_wait_reports_a_stable_service(moto, ecs):
    cluster, service, family = deployed_family(ecs, ["1.0", "1.1"])

    result, _run = service_wait(moto, cluster=cluster, service=service)

    assert not result.failed and not result.changed
    assert result["stable"] is True and result["state"] == "running" and result["reason"] == ""
    assert result["revision"] == f"{family}:2"
    assert result["containers"] == [{"name": "api", "image": "stratum/api:1.1"}]
    assert "task_definition" not in result.result


def test_service_wait_without_waiting_reports_why_it_is_not_stable(moto, ecs):
    cluster = ecs.cluster()
    service = ecs.service(cluster, ecs.unique("svc"), ecs.register(ecs.unique("api"), "1.0"), desired=3, stable=False)

    result, _run = service_wait(moto, cluster=cluster, service=service, wait=False)

    assert not result.failed
    assert result["stable"] is False and result["state"] == "progressing"
    assert "0/3 tasks running" in result["reason"]


def test_service_wait_times_out_with_the_reason(moto, ecs):
    cluster = ecs.cluster()
    service = ecs.service(cluster, ecs.unique("svc"), ecs.register(ecs.unique("api"), "1.0"), desired=2, stable=False)

    result, _run = service_wait(moto, cluster=cluster, service=service, wait_timeout=2)

    assert_clean_failure(result, f"ECS service {service} did not become stable within 2s", "0/2 tasks running")
    assert result["state"] == "progressing"
