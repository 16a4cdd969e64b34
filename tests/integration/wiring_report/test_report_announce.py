"""An announcing runbook (db_maintenance) posts at start and end and audits one line per run; a webhook that
fails or is not configured never fails the runbook and the report says so; log_cleanup's report has the same
shape (the JSON Schema checks each)."""

from __future__ import annotations

import json

import jsonschema
from harness.ansible_run import REPO, run_playbook

INVENTORY = REPO / "tests" / "integration" / "wiring_report" / "inventory" / "hosts.yml"
DB_MAINTENANCE = REPO / "playbooks" / "db_maintenance.yml"
TOKEN = "T111/B111/announce-Secret-Token-4410"


def test_db_maintenance_announces_reports_and_audits_and_a_failing_webhook_is_only_reported(
    postgres_server, webhook, report_schema, tmp_path
):
    audit = tmp_path / "audit.jsonl"
    extra = {
        "stratum_postgres": {
            "host": postgres_server.host,
            "port": postgres_server.port,
            "user": postgres_server.user,
            "database": postgres_server.database,
        },
        "stratum_audit_log": str(audit),
        "db_maintenance_schemas": ["public"],
    }
    env = {"PGPASSWORD": postgres_server.password, "STRATUM_SLACK_WEBHOOK_URL": webhook.url(TOKEN)}
    endpoint = f"{postgres_server.host}:{postgres_server.port}/{postgres_server.database}"

    run = run_playbook(DB_MAINTENANCE, inventory=INVENTORY, extra_vars=extra, env=env)
    assert run.rc == 0, run.output[-4000:]
    report = run.custom_stats["_run"]["stratum_report"]
    jsonschema.validate(report, report_schema)
    assert report["runbook"] == "db_maintenance" and report["status"] == "ok"
    assert report["endpoints"]["postgres"] == endpoint
    assert report["steps"][0] == {"name": "measure bloat", "status": "ok", "error": None}
    assert run.stats["localhost"]["changed"] == 0
    # Announcing runbook: a start and an end message, each naming environment, runbook and status.
    assert [(m["phase"], m["status"]) for m in webhook.messages] == [("start", "started"), ("end", "ok")]
    assert {(m["environment"], m["runbook"], m["channel"]) for m in webhook.messages} == {
        ("wiring-test", "db_maintenance", "#platform-status")
    }
    assert report["notifications"]["slack"] == "sent to #platform-status (start announced)"

    webhook.status = 500  # Slack answers with an error: reported, the runbook still succeeds
    broken = run_playbook(DB_MAINTENANCE, inventory=INVENTORY, extra_vars=extra, env=env)
    assert broken.rc == 0, broken.output[-4000:]
    assert broken.custom_stats["_run"]["stratum_report"]["notifications"]["slack"] == "failed: HTTP 500"
    assert len(webhook.messages) == 4

    quiet_env = {"PGPASSWORD": postgres_server.password, "STRATUM_SLACK_WEBHOOK_URL": ""}
    quiet = run_playbook(DB_MAINTENANCE, inventory=INVENTORY, extra_vars=extra, env=quiet_env)
    assert quiet.rc == 0, quiet.output[-4000:]
    slack = quiet.custom_stats["_run"]["stratum_report"]["notifications"]["slack"]
    assert slack == "not configured: set stratum_slack_webhook_url"
    assert len(webhook.messages) == 4

    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(records) == 3  # one line per run
    assert [r["notifications"]["slack"] for r in records] == [
        "sent to #platform-status (start announced)",
        "failed: HTTP 500",
        "not configured: set stratum_slack_webhook_url",
    ]
    assert all(r["runbook"] == "db_maintenance" and r["status"] == "ok" and r["user"] for r in records)
    assert all(r["endpoints"]["postgres"] == endpoint for r in records)
    text = audit.read_text() + run.output + broken.output + quiet.output
    assert postgres_server.password not in text and "announce-Secret-Token-4410" not in text


def test_log_cleanup_report_has_the_one_shape(report_schema, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "api.log").write_text("line\n")
    run = run_playbook(
        REPO / "playbooks" / "log_cleanup.yml",
        inventory=INVENTORY,
        extra_vars={"stratum_logs": {"path": str(logs)}},
        env={"STRATUM_SLACK_WEBHOOK_URL": ""},
    )
    assert run.rc == 0, run.output[-4000:]
    report = run.custom_stats["_run"]["stratum_report"]
    jsonschema.validate(report, report_schema)
    assert report["runbook"] == "log_cleanup" and report["status"] == "ok"
    assert report["endpoints"]["logs"] == str(logs)
    assert report["notifications"]["audit_log"] == "not configured: set stratum_audit_log"
    assert run.custom_stats["_run"]["log_cleanup_report"] == report["findings"]
