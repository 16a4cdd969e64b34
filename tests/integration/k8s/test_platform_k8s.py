"""roles/platform on Kubernetes (tests/k8s_double): status, deploy, rollback through ansible-playbook."""

from __future__ import annotations

from k8s_platform import failure, platform, services


def images(k8s):
    return k8s.deployment()["spec"]["template"]["spec"]["containers"][0]["image"]


def test_status_reports_running_revision(k8s):
    result, run = platform(k8s, "status")
    assert run.rc == 0, run.output[-3000:]
    assert result["state"] == "running"
    assert result["image"] == "stratum/api:1.0.0"
    assert result["version"] == "1.0.0"
    assert result["revision"] == "1"
    assert (result["ready"], result["desired"]) == (2, 2)
    assert result["reason"] == ""
    assert result["changed"] is False


def test_deploy_sets_image_waits_and_second_run_is_unchanged(k8s):
    result, run = platform(k8s, "deploy", platform_version="1.1.0")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert result["state"] == "running"
    assert (result["version"], result["revision"]) == ("1.1.0", "2")
    assert (result["previous_version"], result["previous_revision"]) == ("1.0.0", "1")
    assert images(k8s) == "stratum/api:1.1.0"
    assert k8s.deployment()["status"]["updatedReplicas"] == 2

    again, run = platform(k8s, "deploy", platform_version="1.1.0")
    assert run.rc == 0
    assert again["changed"] is False
    assert k8s.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_deploy_check_mode_changes_nothing(k8s):
    before = k8s.deployment()
    result, run = platform(k8s, "deploy", check=True, platform_version="9.9.9")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert result["target_image"] == "stratum/api:9.9.9"
    after = k8s.deployment()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert images(k8s) == "stratum/api:1.0.0"
    assert len(k8s.replicasets()) == 1


def test_failed_rollout_fails_with_image_pull_reason(k8s):
    k8s.request(
        "PATCH",
        "/apis/apps/v1/namespaces/production/deployments/stratum-api",
        {"spec": {"progressDeadlineSeconds": 600}},
        "application/merge-patch+json",
    )
    result, run = platform(k8s, "deploy", platform_version="1.4.2-broken")
    assert run.rc != 0
    msg = failure(run)
    assert "stratum-api deploy failed on kubernetes" in msg
    assert "2 pods in ImagePullBackOff for image stratum/api:1.4.2-broken" in msg
    assert result is None  # the play stopped at the failure
    # the old ReplicaSet keeps serving while the new one cannot pull its image
    old = [
        rs
        for rs in k8s.replicasets()
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "stratum/api:1.0.0"
    ]
    assert old and old[0]["status"]["readyReplicas"] == 2


def test_rollback_to_previous_then_to_given_revision(k8s):
    platform(k8s, "deploy", platform_version="1.1.0")
    platform(k8s, "deploy", platform_version="1.2.0")
    result, run = platform(k8s, "rollback")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["from_version"], result["to_version"]) == ("1.2.0", "1.1.0")
    assert (result["from_revision"], result["to_revision"]) == ("3", "2")
    assert result["revision"] == "4"  # the controller renumbers the reused ReplicaSet
    assert images(k8s) == "stratum/api:1.1.0"

    result, run = platform(k8s, "rollback", platform_to_revision="1")
    assert run.rc == 0, run.output[-3000:]
    assert (result["to_revision"], result["to_version"], result["state"]) == ("1", "1.0.0", "running")
    assert images(k8s) == "stratum/api:1.0.0"

    again, run = platform(k8s, "rollback", platform_to_revision="1")
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False


def test_rollback_check_mode_reports_from_to_and_changes_nothing(k8s):
    platform(k8s, "deploy", platform_version="1.1.0")
    before = k8s.deployment()
    result, run = platform(k8s, "rollback", check=True)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["from_revision"], result["to_revision"]) == ("2", "1")
    assert result["to_version"] == "1.0.0"
    assert k8s.deployment()["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert images(k8s) == "stratum/api:1.1.0"


def test_rollback_to_unknown_revision_fails_clearly(k8s):
    _dummy, run = platform(k8s, "rollback", platform_to_revision="7")
    assert run.rc != 0
    assert "revision 7 is not in the rollout history" in failure(run)


def test_wrong_namespace_or_deployment_gives_clear_message(k8s):
    _dummy, run = platform(k8s, "status", stratum_services=services(namespace="staging"))
    assert "namespace 'staging' does not exist" in failure(run)
    _dummy, run = platform(k8s, "deploy", platform_version="1.1.0", stratum_services=services(deployment="stratum-apx"))
    msg = failure(run)
    assert "Deployment 'stratum-apx' not found in namespace 'production'" in msg
    assert "Traceback" not in msg
