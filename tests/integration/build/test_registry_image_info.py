"""stratum.ops.registry_image_info against a real registry (API v2) and moto's ECR, through Ansible."""

from __future__ import annotations

from harness import aws_seed
from harness.ansible_run import run_module


def test_plain_registry_reports_existing_and_missing_tags(registry):
    registry.seed("stratum/api", ["1.4.0"])
    result, _run = run_module(
        "stratum.ops.registry_image_info",
        {
            "kind": "plain",
            "url": registry.url,
            "insecure": True,
            "images": ["stratum/api", "stratum/workers"],
            "tag": "1.4.0",
        },
    )
    assert result.status == "ok", result.result
    api, workers = result["images"]
    assert api["exists"] is True and api["digest"] == registry.manifest_digest("stratum/api", "1.4.0")
    assert api["reference"] == f"{registry.url}/stratum/api:1.4.0"
    assert workers["exists"] is False and workers["digest"] == ""
    assert result["missing"] == [f"{registry.url}/stratum/workers:1.4.0"]


def test_ecr_reports_existing_and_missing_tags(moto):
    digests = aws_seed.seed_ecr_images(moto.client("ecr"), ["stratum/api"], ["1.4.0"])
    result, _run = run_module(
        "stratum.ops.registry_image_info",
        {"kind": "ecr", "images": ["stratum/api", "stratum/workers"], "tag": "1.4.0", **moto.module_args()},
        env=moto.env,
    )
    assert result.status == "ok", result.result
    api, workers = result["images"]
    assert api["exists"] is True and api["digest"] == digests["stratum/api:1.4.0"]
    assert workers["exists"] is False and "RepositoryNotFound" in workers["reason"]
    assert result["source"] == "ECR DescribeImages"
