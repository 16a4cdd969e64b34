"""stratum.ops.k8s_rollout through Ansible against the Kubernetes API double."""

from __future__ import annotations

import socket

from harness.ansible_run import assert_clean_failure, run_module


def rollout(k8s, check=False, verbosity=0, **args):
    params = {"kubeconfig": str(k8s.kubeconfig), "namespace": "production", "name": "stratum-api", "wait_sleep": 0.2}
    params.update(args)
    return run_module("stratum.ops.k8s_rollout", params, check=check, verbosity=verbosity)


def set_image(k8s, image):
    k8s.request(
        "PATCH",
        "/apis/apps/v1/namespaces/production/deployments/stratum-api",
        {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}},
        "application/strategic-merge-patch+json",
    )


def test_status_reports_complete_rollout_and_history(k8s):
    set_image(k8s, "stratum/api:1.1.0")
    result, _dummy = rollout(k8s, action="status", container="api")
    assert not result.failed, result.result
    assert (result["rollout"]["state"], result["rollout"]["image"]) == ("complete", "stratum/api:1.1.0")
    assert (result["rollout"]["revision"], result["rollout"]["ready"]) == (2, 2)
    assert not result.changed
    history, _dummy = rollout(k8s, action="history")
    assert [(h["revision"], h["images"]["api"], h["current"]) for h in history["history"]] == [
        (1, "stratum/api:1.0.0", False),
        (2, "stratum/api:1.1.0", True),
    ]


def test_status_fails_with_crashloop_reason(k8s):
    k8s.fail_image("1\\.3\\.0", "CrashLoopBackOff")
    set_image(k8s, "stratum/api:1.3.0")
    result, _dummy = rollout(k8s, action="status", wait_timeout=120)
    assert_clean_failure(
        result, "production/stratum-api rollout failed", "2 pods in CrashLoopBackOff for image stratum/api:1.3.0"
    )
    assert result["rollout"]["state"] == "failed"


def test_undo_check_mode_then_undo_then_second_undo_unchanged(k8s):
    set_image(k8s, "stratum/api:1.1.0")
    k8s.wait_complete()
    before = k8s.deployment()["metadata"]["resourceVersion"]
    result, _dummy = rollout(k8s, check=True, action="undo", to_revision=1)
    assert not result.failed, result.result
    assert (result.changed, result["from_revision"], result["to_revision"]) == (True, 2, 1)
    assert k8s.deployment()["metadata"]["resourceVersion"] == before

    result, _dummy = rollout(k8s, action="undo", to_revision=1)
    assert (result.changed, result["to_image"], result["rollout"]["state"]) == (True, "stratum/api:1.0.0", "complete")
    assert result["rollout"]["revision"] == 3
    again, _dummy = rollout(k8s, action="undo", to_revision=1)
    assert not again.failed, again.result
    assert again.changed is False


def test_restart_check_mode_changes_nothing(k8s):
    before = k8s.deployment()["metadata"]["resourceVersion"]
    result, _dummy = rollout(k8s, check=True, action="restart")
    assert (result.changed, result["from_revision"]) == (True, 1)
    assert k8s.deployment()["metadata"]["resourceVersion"] == before


def test_token_auth_never_shows_the_token_and_bad_token_fails_cleanly(k8s):
    params = {"kubeconfig": None, "host": k8s.url, "api_key": k8s.server.token}
    result, run = rollout(k8s, verbosity=3, **params)
    assert not result.failed, result.result
    assert k8s.server.token not in run.output
    result, _dummy = rollout(k8s, **{**params, "api_key": "wrong-token"})
    assert_clean_failure(result, "401 Unauthorized", "check the credentials")


def test_missing_deployment_and_unreachable_api_are_clear(k8s):
    result, _dummy = rollout(k8s, name="stratum-nope")
    assert_clean_failure(result, "Deployment 'stratum-nope' not found in namespace 'production'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, _dummy = rollout(k8s, kubeconfig=None, host=f"http://127.0.0.1:{port}", api_key="x")
    assert_clean_failure(result, "cannot")
