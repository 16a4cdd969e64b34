"""playbooks/deploy.yml and playbooks/rollback.yml with inventories/local against moto ECS and the stand-in API."""

from __future__ import annotations

import subprocess

import pytest
from conftest import INITIAL, failure, report

# each playbook run starts many short Ansible modules; on a loaded 2-core CI machine that takes minutes
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def deploy_repo(path):
    """A git repository with one commit, where the deploy records its backup tag."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    git = ["git", "-C", str(path)]
    subprocess.run([*git, "config", "user.name", "Deploy Bot"], check=True)
    subprocess.run([*git, "config", "user.email", "deploy@example.invalid"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "release"], check=True)
    return git


# One lifecycle in one test: each deploy is dozens of Ansible tasks, so the backup tag, the idempotent
# redeploy and the rollback playbook share the first deploy instead of repeating it.
def test_deploy_tags_a_backup_then_redeploy_changes_nothing_then_rollback_returns(ecs_sandbox, tmp_path):
    git = deploy_repo(tmp_path / "deploy-repo")
    run = ecs_sandbox.run("deploy.yml", version="1.1.0", deploy_git_repo=str(tmp_path / "deploy-repo"))
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
    tags = subprocess.run([*git, "tag", "--list", "backup-*"], capture_output=True, text=True, check=True).stdout
    assert tags.split() == [rep["backup_tag"]]

    again = ecs_sandbox.run("deploy.yml", version="1.1.0")
    assert again.rc == 0, again.output[-4000:]
    assert [t.task for t in again.tasks if t.changed] == []
    assert report(again)["outcome"] == "unchanged"
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:2", "stratum-workers": "stratum-workers:2"}

    back = ecs_sandbox.run("rollback.yml")
    assert back.rc == 0, back.output[-4000:]
    assert ecs_sandbox.versions() == {"stratum-api": INITIAL, "stratum-workers": INITIAL}
    assert ecs_sandbox.revisions() == {"stratum-api": "stratum-api:1", "stratum-workers": "stratum-workers:1"}
    rep = report(back, "rollback")
    assert rep["ok"] is True and rep["changed"] is True
    assert rep["before"] == {"api": "1.1.0", "workers": "1.1.0"}
    assert rep["after"] == {"api": INITIAL, "workers": INITIAL}
    assert rep["verify"]["version"] == INITIAL and rep["verify"]["smoke_test"] == "passed"


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
    # (the report's own tasks - record what failed, stratum.ops.notify - follow in rescue/always)
    includes = ("ansible.builtin.include_tasks", "ansible.builtin.include_role")
    ran = [
        t.task
        for t in run.tasks
        if t.action not in includes and "notify :" not in t.task and not t.task.endswith("Deploy | record what failed")
    ]
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


def test_rollback_to_the_version_already_running_changes_nothing(ecs_sandbox):
    before = (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count())
    run = ecs_sandbox.run("rollback.yml", rollback_to_version=INITIAL)
    assert run.rc == 0, run.output[-4000:]
    assert [t.task for t in run.tasks if t.changed] == []
    rep = report(run, "rollback")
    assert rep["changed"] is False and rep["ok"] is True
    assert (ecs_sandbox.revisions(), ecs_sandbox.task_definition_count()) == before
