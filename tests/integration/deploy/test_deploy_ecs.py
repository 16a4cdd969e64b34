"""playbooks/deploy.yml and playbooks/rollback.yml with inventories/local against moto ECS and the stand-in API."""

from __future__ import annotations

import subprocess

import pytest
from conftest import INITIAL, failure, report

# each playbook run starts many short Ansible modules; on a loaded 2-core CI machine that takes minutes
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_deploy_succeeds_then_redeploying_the_same_version_changes_nothing(ecs_sandbox):
    run = ecs_sandbox.run("deploy.yml", version="1.1.0")
    assert run.rc == 0, run.output[-4000:]
    assert ecs_sandbox.versions() == {"stratum-api": "1.1.0", "stratum-workers": "1.1.0"}
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:2", "stratum-workers": "stratum-workers:2"}
    rep = report(run)
    assert rep["outcome"] == "deployed"
    assert rep["previous"] == {"api": INITIAL, "workers": INITIAL}
    assert rep["changed_services"] == ["api", "workers"]
    assert rep["health"]["status"] == 200 and rep["health"]["version"] == "1.1.0"
    assert rep["health"]["smoke_test"] == "passed"
    assert int(rep["watch"]["polls"]) >= 1
    assert rep["failure"] == {} and rep["rolled_back"] == {}

    again = ecs_sandbox.run("deploy.yml", version="1.1.0")
    assert again.rc == 0, again.output[-4000:]
    assert [t.task for t in again.tasks if t.changed] == []
    assert report(again)["outcome"] == "unchanged"
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:2", "stratum-workers": "stratum-workers:2"}


def test_failed_health_check_rolls_back_automatically_and_fails_with_a_summary(ecs_sandbox):
    ecs_sandbox.fail_version("9.9.9-bad")
    run = ecs_sandbox.run("deploy.yml", version="9.9.9-bad")
    assert run.rc != 0
    msg = failure(run)
    assert "Deploy of 9.9.9-bad to local failed at API health check" in msg
    assert "returned 503" in msg
    assert "Rolled back: api to 1.0.0 (stratum-api:1)" in msg
    # the API went back to the revision it ran; the workers were never touched
    assert ecs_sandbox.versions() == {"stratum-api": INITIAL, "stratum-workers": INITIAL}
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:1", "stratum-workers": "stratum-workers:1"}
    rep = report(run)
    assert rep["outcome"] == "rolled_back"
    assert rep["changed_services"] == ["api"]
    assert rep["rolled_back"]["api"]["ok"] is True
    assert rep["failure"]["step"] == "API health check"


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({}, "missing"),
        ({"version": ""}, "empty"),
        ({"version": "1.4.2; rm -rf /"}, "shell characters"),
        ({"version": "../../etc"}, "path"),
        ({"version": "latest"}, "moving tag"),
    ],
)
def test_missing_or_malformed_version_fails_before_anything_changes(ecs_sandbox, extra, why):
    before = (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count())
    run = ecs_sandbox.run("deploy.yml", **extra)
    assert run.rc != 0, why
    msg = failure(run)
    assert "deploy needs a version" in msg and "Nothing was changed" in msg
    assert "Traceback" not in run.output
    # the first task failed: nothing was even read, let alone changed
    ran = [t.task for t in run.tasks if t.action != "ansible.builtin.include_tasks"]
    assert ran[-1].endswith("Deploy | check the version")
    assert (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count()) == before


def test_check_mode_shows_the_plan_and_changes_nothing(ecs_sandbox):
    before = (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count())
    run = ecs_sandbox.run("deploy.yml", check=True, version="1.2.0")
    assert run.rc == 0, run.output[-4000:]
    rep = report(run)
    assert rep["outcome"] == "would_deploy"
    assert "plan: api 1.0.0 -> 1.2.0, workers 1.0.0 -> 1.2.0" in rep["steps"]
    assert rep["services"]["api"]["changed"] is True
    assert (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count()) == before
    assert ecs_sandbox.versions() == {"stratum-api": INITIAL, "stratum-workers": INITIAL}


def test_rollback_playbook_returns_to_the_previous_version(ecs_sandbox):
    assert ecs_sandbox.run("deploy.yml", version="1.1.0").rc == 0
    run = ecs_sandbox.run("rollback.yml")
    assert run.rc == 0, run.output[-4000:]
    assert ecs_sandbox.versions() == {"stratum-api": INITIAL, "stratum-workers": INITIAL}
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:1", "stratum-workers": "stratum-workers:1"}
    rep = report(run, "rollback")
    assert rep["ok"] is True and rep["changed"] is True
    assert rep["before"] == {"api": "1.1.0", "workers": "1.1.0"}
    assert rep["after"] == {"api": INITIAL, "workers": INITIAL}
    assert rep["verify"]["version"] == INITIAL and rep["verify"]["smoke_test"] == "passed"


def test_rollback_to_the_version_already_running_changes_nothing(ecs_sandbox):
    before = (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count())
    run = ecs_sandbox.run("rollback.yml", rollback_to_version=INITIAL)
    assert run.rc == 0, run.output[-4000:]
    assert [t.task for t in run.tasks if t.changed] == []
    rep = report(run, "rollback")
    assert rep["changed"] is False and rep["ok"] is True
    assert (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count()) == before


def test_backup_tag_is_created_in_the_deploy_repository(ecs_sandbox, tmp_path):
    repo = tmp_path / "deploy-repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "config", "user.name", "Deploy Bot"], check=True)
    subprocess.run([*git, "config", "user.email", "deploy@example.invalid"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "release"], check=True)
    run = ecs_sandbox.run("deploy.yml", version="1.1.0", deploy_git_repo=str(repo), deploy_watch_seconds=0)
    assert run.rc == 0, run.output[-4000:]
    tags = subprocess.run(
        [*git, "tag", "--list", "backup-*"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert tags == [report(run)["backup_tag"]]
