"""roles/platform on Kubernetes (tests/k8s_double): restart, scale (+HPA), set_env, config."""

from __future__ import annotations

import base64

from k8s_platform import failure, platform

SECRET_VALUE = "s3cr3t-db-password-value"


def container(k8s):
    return k8s.deployment()["spec"]["template"]["spec"]["containers"][0]


def test_restart_rolls_pods_and_waits(k8s):
    result, run = platform(k8s, "restart")
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["previous_revision"], result["revision"], result["state"]) == ("1", "2", "running")
    annotations = k8s.deployment()["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"] == result["restarted_at"]


def test_restart_check_mode_changes_nothing(k8s):
    before = k8s.deployment()["metadata"]["resourceVersion"]
    result, run = platform(k8s, "restart", check=True)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert k8s.deployment()["metadata"]["resourceVersion"] == before
    assert len(k8s.replicasets()) == 1


def test_scale_sets_replicas_and_hpa_bounds_idempotently(k8s):
    k8s.create(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "stratum-api", "namespace": "production"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stratum-api"},
                "minReplicas": 2,
                "maxReplicas": 4,
            },
        }
    )
    result, run = platform(k8s, "scale", platform_replicas=3, platform_min_replicas=3, platform_max_replicas=8)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert (result["desired"], result["ready"], result["previous_desired"]) == (3, 3, 2)
    assert k8s.deployment()["spec"]["replicas"] == 3
    hpa = k8s.hpa("stratum-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 8)

    again, run = platform(k8s, "scale", platform_replicas=3, platform_min_replicas=3, platform_max_replicas=8)
    assert run.rc == 0, run.output[-3000:]
    assert again["changed"] is False

    # The runbook's "kubectl patch hpa ... maxReplicas": only the upper bound, replicas left to the autoscaler.
    hpa_only, run = platform(k8s, "scale", platform_max_replicas=20)
    assert run.rc == 0, run.output[-3000:]
    assert hpa_only["changed"] is True
    hpa = k8s.hpa("stratum-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    assert k8s.deployment()["spec"]["replicas"] == 3


def test_scale_check_mode_changes_nothing_and_missing_hpa_is_clear(k8s):
    result, run = platform(k8s, "scale", check=True, platform_replicas=5)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert k8s.deployment()["spec"]["replicas"] == 2
    _dummy, run = platform(k8s, "scale", platform_replicas=2, platform_max_replicas=6)
    assert "no HorizontalPodAutoscaler 'stratum-api' in namespace production" in failure(run)


def test_set_env_merges_by_name_unsets_null_and_is_idempotent(k8s):
    env = {"LOG_LEVEL": "debug", "FEATURE_X": "on", "DATABASE_PASSWORD": SECRET_VALUE}
    result, run = platform(k8s, "set_env", verbosity=3, platform_env=env)
    assert run.rc == 0, run.output[-3000:]
    assert result["changed"] is True
    assert result["changed_keys"] == ["DATABASE_PASSWORD", "FEATURE_X", "LOG_LEVEL"]
    assert SECRET_VALUE not in run.output
    got = {e["name"]: e.get("value") for e in container(k8s)["env"]}
    assert got == {"LOG_LEVEL": "debug", "FEATURE_X": "on", "DATABASE_PASSWORD": SECRET_VALUE}
    assert result["state"] == "running"

    again, run = platform(k8s, "set_env", platform_env=env)
    assert again["changed"] is False

    result, run = platform(k8s, "set_env", platform_env={"FEATURE_X": None, "NOT_THERE": None})
    assert run.rc == 0, run.output[-3000:]
    assert result["changed_keys"] == ["FEATURE_X"]
    assert [e["name"] for e in container(k8s)["env"]] == ["LOG_LEVEL", "DATABASE_PASSWORD"]


def test_set_env_check_mode_changes_nothing(k8s):
    result, run = platform(k8s, "set_env", check=True, platform_env={"LOG_LEVEL": "debug"})
    assert run.rc == 0, run.output[-3000:]
    assert (result["changed"], result["changed_keys"]) == (True, ["LOG_LEVEL"])
    assert container(k8s)["env"] == [{"name": "LOG_LEVEL", "value": "info"}]


def test_config_lists_names_and_keeps_values_out_of_the_output(k8s):
    k8s.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "api-config", "namespace": "production"},
            "data": {"CACHE_TTL": "60"},
        }
    )
    k8s.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "api-secrets", "namespace": "production"},
            "data": {"DATABASE_URL": base64.b64encode(SECRET_VALUE.encode()).decode()},
        }
    )
    k8s.request(
        "PATCH",
        "/apis/apps/v1/namespaces/production/deployments/stratum-api",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "api",
                                "envFrom": [
                                    {"configMapRef": {"name": "api-config"}},
                                    {"secretRef": {"name": "api-secrets"}},
                                ],
                            }
                        ]
                    }
                }
            }
        },
        "application/strategic-merge-patch+json",
    )
    k8s.wait_complete()
    result, run = platform(k8s, "config", verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert result["names"] == ["CACHE_TTL", "DATABASE_URL", "LOG_LEVEL"]
    assert result["changed"] is False
    assert SECRET_VALUE not in run.output
    assert {"kind": "Secret", "name": "api-secrets"} in result["sources"]
