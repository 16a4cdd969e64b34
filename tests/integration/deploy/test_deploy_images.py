"""Deploy only what exists: a version whose images the registry (the sandbox's ECR in moto) lacks is refused
before anything changes, naming the image."""

from __future__ import annotations

from conftest import INITIAL, failure, report


def test_a_version_missing_from_the_registry_is_refused_naming_the_image(ecs_sandbox):
    definitions = ecs_sandbox.task_definition_count()
    run = ecs_sandbox.run("deploy.yml", version="7.7.7")
    assert run.rc != 0
    msg = failure(run)
    assert "has no image stratum/api:7.7.7, stratum/workers:7.7.7" in msg and "Nothing was changed" in msg
    assert "ECR DescribeImages" in msg
    # nothing changed: same versions, no new task definition revision
    assert ecs_sandbox.versions() == {"stratum-api": INITIAL, "stratum-workers": INITIAL}
    assert ecs_sandbox.task_definition_count() == definitions
    rep = report(run)
    assert rep["images"]["status"] == "missing" and rep["changed_services"] == []
    assert rep["failure"]["step"] == "images"
