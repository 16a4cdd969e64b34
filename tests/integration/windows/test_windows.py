"""Maintenance windows through playbooks/db_maintenance.yml against a real PostgreSQL: a changing run outside
its window is refused before anything changes; with -e stratum_outside_window=true it runs, and the report and
the audit line record it; inside the window it runs."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from harness.ansible_run import run_playbook

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "db_maintenance.yml"
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def never_now() -> list[dict]:
    """A one-hour window three days away (neither today nor yesterday, so it cannot contain now)."""
    day = DAYS[(datetime.datetime.now(datetime.UTC).weekday() + 3) % 7]
    return [{"days": [day], "start": "00:00", "end": "01:00", "tz": "UTC"}]


# 00:00 to 00:00 crosses midnight: 24 hours from every day's start, so always open
ALWAYS = [{"days": DAYS, "start": "00:00", "end": "00:00", "tz": "Europe/Berlin"}]


def run(postgres_server, tmp_path, windows, **extra):
    return run_playbook(
        PLAYBOOK,
        extra_vars={
            "stratum_postgres": {
                "host": postgres_server.host,
                "port": postgres_server.port,
                "user": postgres_server.user,
                "database": postgres_server.database,
            },
            "stratum_audit_log": str(tmp_path / "audit.jsonl"),
            "stratum_maintenance_windows": {"db_maintenance": windows},
            "db_maintenance_actions": ["analyze"],
            "db_maintenance_schemas": ["public"],
            **extra,
        },
        env={"PGPASSWORD": postgres_server.password},
    )


def test_outside_refused_override_runs_and_is_audited_inside_runs(postgres_server, tmp_path):
    refused = run(postgres_server, tmp_path, never_now())
    assert refused.rc != 0
    msg = str(refused.failed_tasks()[-1].get("msg"))
    assert "outside every maintenance window in stratum_maintenance_windows.db_maintenance" in msg
    assert "-e stratum_outside_window=true" in msg and "Nothing was changed" in msg
    assert not [t for t in refused.tasks if "measure bloat" in t.task and t.action.startswith("stratum.ops.")]

    forced = run(postgres_server, tmp_path, never_now(), stratum_outside_window=True)
    assert forced.rc == 0, forced.output[-4000:]
    window = forced.custom_stats["_run"]["db_maintenance_report"]["window"]
    assert window["override"] is True and window["inside"] is False and window["allowed"] is True
    assert "run anyway: stratum_outside_window=true" in window["reason"]
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["runbook"], r["status"], r["actions"]) for r in audit][-1] == ("db_maintenance", "ok", ["analyze"])

    inside = run(postgres_server, tmp_path, ALWAYS)
    assert inside.rc == 0, inside.output[-4000:]
    window = inside.custom_stats["_run"]["db_maintenance_report"]["window"]
    assert window["inside"] is True and window["override"] is False
    assert window["window"] == "mon,tue,wed,thu,fri,sat,sun 00:00-00:00 Europe/Berlin"


def test_database_resize_outside_its_window_is_refused_before_any_aws_call(tmp_path):
    # no AWS endpoint answers here: the refusal must come before the first call
    run = run_playbook(
        PLAYBOOK.parent / "scaling.yml",
        extra_vars={
            "stratum_database": {"rds_instance": "stratum-db"},
            "stratum_aws": {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"},
            "stratum_maintenance_windows": {"db_resize": never_now()},
            "scaling_actions": ["scale_database"],
            "scaling_db_instance_class": "db.r6g.large",
            "scaling_services": [],
        },
    )
    assert run.rc != 0
    msg = str(run.failed_tasks()[-1].get("msg"))
    assert "scaling scale_database: outside every maintenance window" in msg
    assert "stratum_maintenance_windows.db_resize" in msg and "Nothing was changed" in msg
    assert not [t for t in run.tasks if t.action.startswith("amazon.aws.")]
