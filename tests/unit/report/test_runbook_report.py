"""The one runbook report shape: step statuses, failures, endpoints without passwords, schema, notifications."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.filter.report import FilterModule
from ansible_collections.stratum.ops.plugins.module_utils import report

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "extensions" / "schemas" / "stratum_report.schema.json").read_text()
)
FILTERS = FilterModule().filters()


def validate(doc):
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_step_statuses_from_registered_results():
    steps = [
        {"name": "read", "result": {"changed": False}},
        {"name": "clear", "result": {"changed": True}},
        {"name": "expire", "result": {"changed": False, "skipped": True}},
        {"name": "never reached", "result": None},
        {"name": "loop", "result": {"changed": True, "results": [{"changed": False}, {"changed": True}]}},
        {"name": "module data", "result": {"changed": True, "results": [{"name": "orders"}]}},
        {"name": "loop all skipped", "result": {"results": [{"skipped": True}], "skipped": True}},
    ]
    built = report.build_steps(steps)
    assert [s["status"] for s in built] == ["ok", "changed", "skipped", "skipped", "changed", "changed", "skipped"]
    assert all(s["error"] is None for s in built)


def test_a_successful_run_with_a_change_is_changed_and_valid():
    doc = FILTERS["runbook_report"](
        [{"name": "clear", "result": {"changed": True}}],
        "incident_redis_memory",
        environment="staging",
        endpoints={"redis": "redis://:pw@cache:6379/0"},
        actions=["clear_namespace"],
        findings={"memory_pct": 12.5},
    )
    assert doc["status"] == "changed"
    assert doc["endpoints"] == {"redis": "cache:6379/0"}
    assert doc["findings"] == {"memory_pct": 12.5}
    assert doc["next_steps"] == []
    validate(doc)


def test_a_no_change_run_is_ok():
    doc = report.build_report([{"name": "read", "result": {"changed": False}}], "scaling", environment="local")
    assert doc["status"] == "ok"
    validate(doc)


def test_a_failed_step_carries_its_error_and_next_steps_name_it():
    doc = report.build_report(
        [
            {"name": "read memory", "result": {"changed": False}},
            {"name": "clear", "result": {"failed": True, "msg": "Error connecting to redis://:hunter2@cache:6379/0"}},
            {"name": "read after", "result": None},
        ],
        "incident_redis_memory",
        environment="staging",
        failure={"task": "Redis memory | clear the namespace", "result": {"failed": True, "msg": "x"}},
        actions=["clear_namespace"],
    )
    assert doc["status"] == "failed"
    failed = [s for s in doc["steps"] if s["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["name"] == "clear"
    assert "hunter2" not in json.dumps(doc)
    assert "redis://***@cache:6379/0" in failed[0]["error"]
    assert doc["next_steps"][0].startswith('Fix the cause of step "clear"')
    assert doc["steps"][2] == {"name": "read after", "status": "skipped", "error": None}
    validate(doc)


def test_a_rescued_failure_outside_the_listed_steps_becomes_a_failed_step():
    doc = report.build_report(
        [{"name": "read", "result": {"changed": True}}],
        "db_maintenance",
        environment="production",
        failure={
            "task": "DB maintenance | check the requested actions",
            "result": {"failed": True, "msg": "bad action"},
        },
    )
    assert doc["steps"][-1] == {"name": "check the requested actions", "status": "failed", "error": "bad action"}
    assert any("check them before rerunning: read" in s for s in doc["next_steps"])
    validate(doc)


def test_an_empty_failure_dict_is_no_failure():
    doc = report.build_report([], "log_cleanup", environment="dev", failure={})
    assert doc["status"] == "ok"


def test_endpoints_merge_preflight_and_role_and_never_invent_a_host():
    used, missing = report.merge_endpoints(
        {"redis": "", "postgres": {"host": "db.internal", "port": 5432, "db": "stratum"}},
        {
            "environment": "staging",
            "endpoints": {"prometheus": "http://user:pw@prom:9090/api?token=abc"},
            "not_configured": {"log_bucket": "not configured: set stratum_log_archive_bucket"},
        },
    )
    assert used == {"prometheus": "http://prom:9090/api", "postgres": "db.internal:5432/stratum"}
    assert missing == {"log_bucket": "not configured: set stratum_log_archive_bucket", "redis": "not configured"}
    assert "localhost" not in json.dumps([used, missing])


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("redis://:s3cret@cache.internal:6380/2", "cache.internal:6380/2"),
        ("rediss://user:pw@cache:6379", "cache:6379"),
        ("postgresql://app:pw@db:5432/stratum?sslmode=require", "db:5432/stratum"),
        ("amqp://guest:guest@mq:5672//", "mq:5672"),
        ("https://hooks.example/services/T/B?x=1", "https://hooks.example/services/T/B"),
        ("db.internal:5432/stratum", "db.internal:5432/stratum"),
        ("", ""),
        (None, ""),
        ({"host": "", "port": 1}, ""),
    ],
)
def test_endpoint_label_never_shows_credentials(value, label):
    assert report.endpoint_label(value) == label


def test_redact_hides_key_value_secrets():
    assert report.redact("password=abc token: 'x y'") == "password=*** token: ***"


def test_errors_are_cut_short():
    doc = report.build_report([{"name": "s", "result": {"failed": True, "msg": "x" * 2000}}], "r", environment="e")
    assert len(doc["steps"][0]["error"]) == report.MAX_ERROR_CHARS


def test_missing_runbook_name_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="runbook name"):
        FILTERS["runbook_report"]([], "")


def test_a_step_without_name_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="must be a dict with a name"):
        FILTERS["runbook_report"]([{"result": {}}], "deploy")


def test_schema_rejects_a_failed_report_without_a_failed_step():
    doc = report.build_report([{"name": "s", "result": {}}], "deploy", environment="e")
    doc["status"] = "failed"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_schema_rejects_a_password_in_an_endpoint():
    doc = report.build_report([], "deploy", environment="e")
    doc["endpoints"] = {"redis": "redis://u:pw@cache:6379/0"}
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_summary_names_status_endpoints_failure_and_next_steps():
    doc = report.build_report(
        [{"name": "read", "result": {"failed": True, "msg": "Connection refused"}}],
        "incident_redis_memory",
        environment="staging",
        endpoints={"redis": "redis://cache:6379/0"},
    )
    lines = FILTERS["report_summary"](doc)
    assert lines[0] == "incident_redis_memory on staging: failed; endpoints: redis cache:6379/0."
    assert 'Failed step "read": Connection refused' in lines
    assert any(line.startswith('Next: Fix the cause of step "read"') for line in lines)


def test_audit_record_and_slack_message_carry_names_versions_and_status():
    doc = report.build_report(
        [{"name": "deploy api", "result": {"failed": True, "msg": "rollout failed"}}],
        "deploy",
        environment="production",
        actions=["deploy"],
    )
    record = FILTERS["audit_record"](doc, user="alice", versions={"version": "1.4.2", "empty": ""})
    assert record["user"] == "alice" and record["status"] == "failed" and record["failed_step"] == "deploy api"
    assert record["versions"] == {"version": "1.4.2"}
    start = FILTERS["slack_message"](doc, phase="start", channel="#platform-status", user="alice")
    assert start["status"] == "started" and start["channel"] == "#platform-status"
    assert start["text"] == "deploy starting on production by alice: deploy"
    end = FILTERS["slack_message"](doc, user="alice", versions={"version": "1.4.2"})
    assert end["status"] == "failed" and "failed step 'deploy api': rollout failed" in end["text"]
    assert end["text"].endswith("[version 1.4.2]")


def test_a_rescued_failure_of_a_listed_step_marks_that_step():
    doc = report.build_report(
        [{"name": "deploy api", "result": None}, {"name": "deploy workers", "result": None}],
        "deploy",
        environment="staging",
        failure={"task": "deploy api", "result": {"failed": True, "msg": "ImagePullBackOff"}},
    )
    assert [s["status"] for s in doc["steps"]] == ["failed", "skipped"]
    assert doc["steps"][0]["error"] == "ImagePullBackOff"


def test_sqlalchemy_style_database_urls_are_host_port_db():
    assert report.endpoint_label("postgresql+psycopg://app:pw@db:5432/stratum") == "db:5432/stratum"
