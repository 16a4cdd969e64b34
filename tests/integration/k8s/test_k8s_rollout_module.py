"""stratum.ops.k8s_rollout through Ansible against the Kubernetes API double."""

from __future__ import annotations

from harness.ansible_run import assert_clean_failure, run_module


def rollout(k8s, **args):
    params = {"kubeconfig": str(k8s.kubeconfig), "namespace": "production", "name": "stratum-api", "wait_sleep": 0.2}
    params.update(args)
    return run_module("stratum.ops.k8s_rollout", params, check=args.pop("_check", False) if "_check" in args else False)


def test_status_reports_complete_rollout(k8s):
    result, _ = rollout(k8s, action="status")
    assert not result.failed, result.result
    assert result["rollout"]["state"] == "complete"
    assert result["rollout"]["image"] == "stratum/api:1.0.0"
    assert result["rollout"]["ready"] == 2
    assert not result.changed
