"""The checklist's primary path: settings read through the platform layer (Compose, on the fake docker CLI)."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.ansible_run import run_playbook

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "integration" / "compose"))

from compose_platform import services, start_project

PLAYBOOK = REPO / "playbooks" / "predeploy_checklist.yml"

SETTINGS = {
    "DATABASE_URL": "postgresql://stratum:Plat-Db-Pass-4471@db:5432/stratum",
    "REDIS_URL": "redis://cache:6379/0",
    "SECRET_KEY": "plat-sk-7f3a9c1d2e4b5a6978c0d1e2f3a4b5",
    "JWT_SECRET_KEY": "plat-sk-7f3a9c1d2e4b5a6978c0d1e2f3a4b5",
    "PII_ENCRYPTION_KEY": "short-pii-key",
    "CORS_ORIGINS": "*",
    "SENTRY_DSN": "https://pubkey4411@o1.ingest.sentry.io/42",
}


def test_settings_read_through_the_platform_layer_are_checked_without_printing_them(tmp_path):
    compose = start_project(tmp_path, {"api.env": "".join(f"{k}={v}\n" for k, v in SETTINGS.items())})

    run = run_playbook(
        PLAYBOOK,
        extra_vars={
            "stratum_platform": "compose",
            "stratum_services": services(str(compose.dir)),
            "predeploy_checklist_environment": "production",
            "predeploy_checklist_check_http": False,
            "predeploy_checklist_fail_on_error": False,
        },
        env=compose.env,
        verbosity=3,
    )
    assert run.rc == 0, run.output[-3000:]
    facts = [t for t in run.tasks if t.task.endswith("Predeploy checklist | build the report")]
    report = facts[-1].result["ansible_facts"]["predeploy_checklist_report"]
    assert report["settings_source"] == "compose config"
    assert set(report["failed"]) == {"secrets_unique", "secret_length:PII_ENCRYPTION_KEY", "cors_origins"}
    for value in SETTINGS.values():
        if len(value) >= 8:
            assert value not in run.output
