"""playbooks/predeploy_checklist.yml: every bad setting caught, no secret printed, health endpoints over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.ansible_run import run_playbook

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "predeploy_checklist.yml"

GOOD = {
    "DATABASE_URL": "postgresql://stratum:Db-Pass-7781@db.internal:5432/stratum",
    "REDIS_URL": "redis://:Redis-Pass-5512@cache.internal:6379/0",
    "SECRET_KEY": "sk-7f3a9c1d2e4b5a6978c0d1e2f3a4b5c6d7",
    "JWT_SECRET_KEY": "jwt-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a",
    "PII_ENCRYPTION_KEY": "pii-0a1b2c3d4e5f60718293a4b5c6d7e8f9aa",
    "CORS_ORIGINS": "https://app.stratum.ai",
    "SENTRY_DSN": "https://pubkey4411@o1.ingest.sentry.io/42",
}


def task(run, name):
    """The last result of the role task with this name (role tasks are named '<role> : <name>')."""
    matches = [t for t in run.tasks if t.task == name or t.task.endswith(" : " + name)]
    assert matches, f"task {name!r} did not run; ran: {[t.task for t in run.tasks]}\n{run.output[-3000:]}"
    return matches[-1]


def names(run):
    return [t.task.split(" : ", 1)[-1] for t in run.tasks]


def checklist(settings=None, base_url="", environment="production", check=False, verbosity=0, **extra):
    extra_vars = {
        "predeploy_checklist_environment": environment,
        "predeploy_checklist_base_url": base_url,
        "predeploy_checklist_check_http": bool(base_url),
        **extra,
    }
    if settings is not None:
        extra_vars["predeploy_checklist_settings"] = settings
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, verbosity=verbosity)


def report(run):
    return task(run, "Predeploy checklist | build the report").result["ansible_facts"]["predeploy_checklist_report"]


def statuses(run):
    return {c["name"]: c["status"] for c in report(run)["checks"]}


def test_good_settings_and_healthy_api_pass(healthy_api):
    run = checklist(GOOD, healthy_api)
    assert run.rc == 0, run.output[-3000:]
    rep = report(run)
    assert rep["ok"] is True and rep["failed"] == []
    assert rep["settings_source"] == "given"
    got = statuses(run)
    for name in ("health:/health", "health:/health/ready", "health:/health/live", "metrics", "secrets_unique"):
        assert got[name] == "pass"
    assert run.custom_stats["_run"]["predeploy_checklist"]["ok"] is True


BAD_CASES = {
    "short_secret": ({"SECRET_KEY": "short-sk-1234"}, "secret_length:SECRET_KEY", "13 characters"),
    "equal_secrets": (
        {"JWT_SECRET_KEY": GOOD["SECRET_KEY"]},
        "secrets_unique",
        "SECRET_KEY and JWT_SECRET_KEY",
    ),
    "cors_wildcard": ({"CORS_ORIGINS": "*"}, "cors_origins", "wildcard"),
    "missing_dsn": ({"SENTRY_DSN": None}, "sentry_dsn", "not set"),
    "placeholder_default": ({"REDIS_URL": "changeme"}, "required:REDIS_URL", "placeholder"),
    "embed_without_key": ({"EMBED_WIDGETS_ENABLED": "true"}, "embed_signing_key", "EMBED_SIGNING_KEY is not set"),
    "whatsapp_without_secret": ({"WHATSAPP_ENABLED": "true"}, "whatsapp_app_secret", "WHATSAPP_APP_SECRET"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_checklist_catches_each_bad_setting_and_fails_after_reporting(case, healthy_api):
    change, check_name, fragment = BAD_CASES[case]
    settings = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    run = checklist(settings, healthy_api, verbosity=3)
    assert run.rc != 0
    failing = {c["name"]: c for c in report(run)["checks"] if c["status"] == "fail"}
    assert check_name in failing, failing
    assert fragment in failing[check_name]["reason"]
    # Every check was reported (HTTP ones too) before the play failed, and the failure names the reason.
    assert statuses(run)["health:/health"] == "pass"
    # The role's own failure, then the report (stratum.ops.notify) fails the play with the same message.
    final = [t for t in run.failed_tasks() if "Notify |" not in t.task][-1]
    assert final.task.endswith("Predeploy checklist | fail when a check failed")
    assert fragment in run.failed_tasks()[-1]["msg"]
    assert fragment in final["msg"]
    # No secret value in the -vvv output.
    for value in settings.values():
        if len(str(value)) >= 8:
            assert str(value) not in run.output, f"{case}: a setting value was printed"


def test_cors_wildcard_allowed_outside_production(healthy_api):
    run = checklist({**GOOD, "CORS_ORIGINS": "*"}, healthy_api, environment="staging")
    assert run.rc == 0, run.output[-3000:]
    assert statuses(run)["cors_origins"] == "pass"


def test_health_ready_failing_fails_the_checklist(not_ready_api):
    run = checklist(GOOD, not_ready_api)
    assert run.rc != 0
    got = statuses(run)
    assert got["health:/health/ready"] == "fail"
    assert got["health:/health"] == "pass" and got["health:/health/live"] == "pass" and got["metrics"] == "pass"
    reason = next(c["reason"] for c in report(run)["checks"] if c["name"] == "health:/health/ready")
    assert "503" in reason


def test_unreachable_api_is_reported_not_crashed():
    run = checklist(GOOD, "http://127.0.0.1:1")
    assert run.rc != 0
    checks = {c["name"]: c for c in report(run)["checks"]}
    assert checks["health:/health"]["status"] == "fail"
    assert "unreachable" in checks["health:/health"]["reason"]


def test_fail_on_error_false_reports_without_failing(not_ready_api):
    run = checklist({**GOOD, "SECRET_KEY": "short"}, not_ready_api, predeploy_checklist_fail_on_error=False)
    assert run.rc == 0, run.output[-3000:]
    assert set(report(run)["failed"]) >= {"secret_length:SECRET_KEY", "health:/health/ready"}


def test_settings_from_a_compose_env_file(tmp_path, healthy_api):
    env_file = tmp_path / ".env"
    lines = [f"{k}={v}" for k, v in GOOD.items() if k != "SECRET_KEY"] + ["SECRET_KEY='changeme'"]
    env_file.write_text("# compose settings\n" + "\n".join(lines) + "\n")
    run = checklist(None, healthy_api, predeploy_checklist_env_file=str(env_file), verbosity=3)
    assert run.rc != 0
    rep = report(run)
    assert rep["settings_source"].startswith("env file")
    assert rep["failed"] == ["required:SECRET_KEY", "secret_length:SECRET_KEY"]
    for value in GOOD.values():
        assert value not in run.output


def test_missing_env_file_fails_clearly(tmp_path):
    run = checklist(None, "", predeploy_checklist_env_file=str(tmp_path / "missing.env"))
    assert run.rc != 0
    assert "cannot read the settings file" in run.failed_tasks()[-1]["msg"]


def test_check_mode_runs_every_check(healthy_api):
    run = checklist({**GOOD, "CORS_ORIGINS": "*"}, healthy_api, check=True)
    got = statuses(run)
    assert got["health:/health"] == "pass"
    assert got["cors_origins"] == "fail"
    assert run.stats["localhost"]["changed"] == 0


def test_base_url_defaults_from_the_service_health_url(healthy_api):
    run = run_playbook(
        PLAYBOOK,
        extra_vars={
            "predeploy_checklist_settings": GOOD,
            "stratum_services": {"api": {"health_url": healthy_api + "/health/detailed"}},
        },
    )
    assert run.rc == 0, run.output[-3000:]
    assert report(run)["base_url"] == healthy_api
