"""playbooks/build.yml with a real dockerd and registry: build FROM scratch, push, second run unchanged;
the ECR login path (GetAuthorizationToken from moto) never prints the token."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import SERVICES
from harness.ansible_run import run_playbook

REPO = Path(__file__).resolve().parents[3]
BUILD = REPO / "playbooks" / "build.yml"
# moto's GetAuthorizationToken answer, decoded (user AWS)
MOTO_TOKEN = "123456789012-auth-token"


def build(docker, extra: dict, env: dict | None = None, check: bool = False):
    return run_playbook(
        BUILD,
        extra_vars={"stratum_services": SERVICES, **extra},
        env={**docker.env, **(env or {})},
        check=check,
    )


def report(run) -> dict:
    stats = run.custom_stats.get("_run", run.custom_stats.get("localhost", run.custom_stats))
    assert "build" in stats, run.output[-3000:]
    return stats["build"]


def test_build_pushes_both_images_then_changes_nothing(dockerd, registry, contexts):
    extra = {
        "version": "1.0.0",
        "build_contexts": contexts,
        "build_nocache": True,
        "stratum_registry": {"url": registry.url, "kind": "plain", "insecure": True},
    }
    first = build(dockerd, extra)
    assert first.rc == 0, first.output[-4000:]
    rep = report(first)
    assert rep["outcome"] == "built" and rep["changed"] is True and rep["built"] == ["api", "workers"]
    for service, repository in (("api", "stratum/api"), ("workers", "stratum/workers")):
        digest = registry.manifest_digest(repository, "1.0.0")
        assert digest.startswith("sha256:")
        assert rep["services"][service] == {
            "reference": f"{registry.url}/{repository}:1.0.0",
            "built": True,
            "digest": digest,
            "in_registry": True,
        }
        # latest points at the same manifest
        assert registry.manifest_digest(repository, "latest") == digest
    assert first.custom_stats["_run"]["stratum_report"]["runbook"] == "build"

    second = build(dockerd, extra)
    assert second.rc == 0, second.output[-4000:]
    assert all(host["changed"] == 0 for host in second.stats.values()), second.stats
    again = report(second)
    assert again["outcome"] == "unchanged" and again["changed"] is False and again["built"] == []
    assert {s: v["digest"] for s, v in again["services"].items()} == {
        s: v["digest"] for s, v in rep["services"].items()
    }
    assert not [t for t in second.tasks if t.action == "community.docker.docker_image" and t.status != "skipped"]


def test_ecr_login_uses_the_authorization_token_and_never_prints_it(dockerd, registry, contexts, moto):
    extra = {
        "version": "2.0.0",
        "build_services": ["api"],
        "build_contexts": contexts,
        "build_latest": False,
        # ECR for the registry API (moto); the registry pushed to is stratum_registry.url
        "stratum_registry": {"url": registry.url, "kind": "ecr"},
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
    }
    run = build(dockerd, extra, env=moto.env)
    assert run.rc == 0, run.output[-4000:]
    login = run.task("Build | log in to " + registry.url)
    assert login.status in ("changed", "ok")
    # docker login wrote the token ECR handed out, for the configured url (not ECR's proxy endpoint)
    auths = json.loads((Path(dockerd.env["DOCKER_CONFIG"]) / "config.json").read_text())["auths"]
    assert base64.b64decode(auths[registry.url]["auth"]).decode() == f"AWS:{MOTO_TOKEN}"
    assert not any("dkr.ecr" in key for key in auths)
    assert MOTO_TOKEN not in run.output
    rep = report(run)
    assert rep["registry"] == {"url": registry.url, "kind": "ecr"}
    pushed = registry.manifest_digest("stratum/api", "2.0.0")
    # moto's ECR does not receive pushes: the digest is the one docker recorded when it pushed
    assert pushed and rep["services"]["api"]["digest"] == pushed and rep["services"]["api"]["in_registry"] is False


def test_a_missing_registry_fails_before_building(dockerd, contexts):
    run = build(dockerd, {"version": "1.0.0", "build_contexts": contexts})
    assert run.rc != 0
    msg = str(run.failed_tasks()[-1].get("msg"))
    assert "stratum_registry" in msg and "Nothing was" in msg
    assert not [t for t in run.tasks if t.action.startswith("community.docker.")]
