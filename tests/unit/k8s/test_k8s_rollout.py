"""Pure rollout logic of plugins/module_utils/k8s_rollout.py: states, failure reasons, history, undo."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.k8s_rollout import (
    RolloutError,
    RolloutManager,
    failure_reason,
    pick_rollback_target,
    restart_patch,
    revision_history,
    rollback_patch,
    rollout_state,
)

UID = "dep-uid"


def deployment(
    generation=2,
    observed=2,
    replicas=2,
    updated=2,
    ready=2,
    available=2,
    total=2,
    progressing="NewReplicaSetAvailable",
    revision="2",
):
    return {
        "metadata": {
            "name": "stratum-api",
            "namespace": "production",
            "uid": UID,
            "generation": generation,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "stratum/api:2"}]},
            },
        },
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "replicas": total,
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": progressing,
                    "message": 'ReplicaSet "x" has timed out progressing.',
                }
            ],
        },
    }


def replicaset(revision, image, uid=None, history=""):
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if history:
        annotations["deployment.kubernetes.io/revision-history"] = history
    return {
        "metadata": {
            "name": f"stratum-api-{revision}",
            "uid": uid or f"rs-{revision}",
            "annotations": annotations,
            "ownerReferences": [{"uid": UID}],
        },
        "spec": {
            "replicas": 0,
            "template": {
                "metadata": {"labels": {"app": "api", "pod-template-hash": f"h{revision}"}},
                "spec": {"containers": [{"name": "api", "image": image}]},
            },
        },
    }


def pod(waiting=None, image="stratum/api:2", unschedulable=False, name="p1"):
    status = {"conditions": []}
    if unschedulable:
        status["conditions"].append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            }
        )
    if waiting:
        status["containerStatuses"] = [{"name": "api", "image": image, "state": {"waiting": {"reason": waiting}}}]
    return {"metadata": {"name": name}, "status": status}


def test_rollout_state_follows_kubectl_rollout_status():
    assert rollout_state(deployment())[0] == "complete"
    assert rollout_state(deployment(observed=1))[0] == "progressing"
    assert rollout_state(deployment(updated=1))[0] == "progressing"
    assert rollout_state(deployment(total=4))[1] == "2 old replicas are pending termination"
    assert rollout_state(deployment(available=1))[0] == "progressing"
    assert rollout_state(deployment(updated=1, progressing="ProgressDeadlineExceeded")) == (
        "failed",
        'ReplicaSet "x" has timed out progressing.',
    )


def test_failure_reason_counts_image_pull_backoff_per_image():
    pods = [pod("ImagePullBackOff", name="a"), pod("ImagePullBackOff", name="b")]
    assert failure_reason(pods, []) == "2 pods in ImagePullBackOff for image stratum/api:2"


def test_failure_reason_crashloop_and_unschedulable():
    assert failure_reason([pod("CrashLoopBackOff")], []) == "1 pod in CrashLoopBackOff for image stratum/api:2"
    assert (
        failure_reason([pod(unschedulable=True)], [])
        == "1 pod unschedulable: 0/3 nodes are available: 3 Insufficient cpu."
    )


def test_failure_reason_falls_back_to_warning_events_then_condition():
    events = [
        {
            "type": "Warning",
            "reason": "FailedMount",
            "message": "secret not found",
            "involvedObject": {"name": "p1"},
            "lastTimestamp": "2026-01-01T00:00:00Z",
        },
        {"type": "Normal", "reason": "Pulled", "message": "ok", "involvedObject": {"name": "p1"}},
    ]
    assert failure_reason([pod()], events) == "FailedMount: secret not found"
    failed = deployment(updated=1, progressing="ProgressDeadlineExceeded")
    assert failure_reason([], [], failed) == 'ReplicaSet "x" has timed out progressing.'
    assert failure_reason([pod(waiting="ContainerCreating")], []) == ""


def test_history_and_rollback_target_including_renumbered_revisions():
    sets = [replicaset(1, "stratum/api:1"), replicaset(3, "stratum/api:3"), replicaset(4, "stratum/api:2", history="2")]
    history = revision_history(deployment(revision="4"), sets)
    assert [h["revision"] for h in history] == [1, 3, 4]
    assert history[-1]["current"] and history[-1]["previous_revisions"] == [2]
    assert pick_rollback_target(history, 4, None)["revision"] == 3
    assert pick_rollback_target(history, 4, 2)["current"] is True
    assert pick_rollback_target(history[:1], 1, None) is None
    with pytest.raises(RolloutError, match="revision 7 is not in the rollout history"):
        pick_rollback_target(history, 4, 7)


def test_rollback_patch_drops_pod_template_hash_and_restart_patch_sets_annotation():
    patch = rollback_patch(replicaset(1, "stratum/api:1"))
    assert patch[0]["path"] == "/spec/template"
    assert patch[0]["value"]["metadata"]["labels"] == {"app": "api"}
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert restart_patch(at)["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z"
    }


class FakeApi:
    def __init__(self, dep, sets, namespaces=("production",)):
        self.dep, self.sets, self.namespaces, self.patches = dep, sets, namespaces, []

    def get_deployment(self, namespace, name):
        return self.dep if self.dep and namespace in self.namespaces and name == self.dep["metadata"]["name"] else None

    def namespace_exists(self, namespace):
        return namespace in self.namespaces

    def list_replicasets(self, namespace, selector):
        return self.sets

    def list_pods(self, namespace, selector):
        return []

    def list_events(self, namespace):
        return []

    def patch_deployment(self, namespace, name, body, content_type):
        self.patches.append((body, content_type))


def test_undo_check_mode_reports_from_to_without_patching():
    api = FakeApi(deployment(revision="2"), [replicaset(1, "stratum/api:1"), replicaset(2, "stratum/api:2")])
    result = RolloutManager(api, "production", "stratum-api", "api").undo(None, check_mode=True)
    assert (result["changed"], result["from_revision"], result["to_revision"], result["to_image"]) == (
        True,
        2,
        1,
        "stratum/api:1",
    )
    assert api.patches == []
    RolloutManager(api, "production", "stratum-api", "api").undo(None, check_mode=False)
    assert api.patches[0][1] == "application/json-patch+json"


def test_missing_namespace_and_deployment_messages():
    api = FakeApi(deployment(), [])
    with pytest.raises(RolloutError, match="namespace 'staging' does not exist"):
        RolloutManager(api, "staging", "stratum-api").deployment()
    with pytest.raises(RolloutError, match="Deployment 'nope' not found in namespace 'production'"):
        RolloutManager(api, "production", "nope").deployment()


def test_status_without_wait_returns_immediately_and_times_out_with_reason():
    clock = iter(range(0, 1000, 5))
    api = FakeApi(deployment(updated=1), [])
    manager = RolloutManager(api, "production", "stratum-api", sleep=lambda _: None, clock=lambda: next(clock))
    assert manager.status(wait=False)["state"] == "progressing"
    timed_out = manager.status(wait=True, timeout=20, interval=1)
    assert timed_out["state"] == "timeout"
    assert timed_out["reason"].startswith("not complete after 20s")
