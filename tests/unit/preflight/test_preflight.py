"""Pure logic of plugins/module_utils/preflight.py: which endpoint each runbook needs and how it is shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.preflight import (
    MISSING,
    RUNBOOKS,
    check_inventory,
    check_runbook,
    describe,
    preflight_error,
    redact_url,
)

REPO = Path(__file__).resolve().parents[3]


def resolver(values: dict):
    return lambda name: values.get(name, MISSING)


def test_every_playbook_has_a_runbook_entry_and_back():
    playbooks = {p.stem for p in (REPO / "playbooks").glob("*.yml")}
    assert playbooks == set(RUNBOOKS)


def test_every_source_variable_is_a_role_default_of_its_runbook():
    """The map names the variables the roles really read (a typo here would make every run 'missing')."""
    for runbook in RUNBOOKS.values():
        defaults = (REPO / "roles" / runbook.name / "defaults" / "main.yml").read_text()
        for endpoint in runbook.endpoints:
            for source in endpoint.sources() + ((endpoint.required_flag,) if endpoint.required_flag else ()):
                assert f"\n{source}:" in "\n" + defaults, f"{runbook.name}: {source} is not a role default"


def test_required_endpoint_missing_is_reported_with_the_variable_to_set():
    result = check_runbook("incident_redis_memory", resolver({}))
    assert result["missing"] == {"redis": "stratum_redis.url"}
    assert result["not_configured"]["redis"] == "not configured: set stratum_redis.url"
    assert result["endpoints"] == {}


def test_empty_string_counts_as_missing():
    result = check_runbook("incident_celery_backlog", resolver({"incident_celery_backlog_broker_url": ""}))
    assert result["missing"] == {"broker": "stratum_celery.broker_url"}


def test_endpoint_shown_without_password():
    result = check_runbook(
        "incident_rate_limit", resolver({"incident_rate_limit_url": "rediss://ops:S3cret-pw@cache.internal:6380/2"})
    )
    assert result["missing"] == {}
    assert result["endpoints"]["redis"] == "rediss://ops@cache.internal:6380/2"
    assert "S3cret-pw" not in str(result)
    # Prometheus is optional: reported, not fatal.
    assert result["not_configured"]["prometheus"] == "not configured: set stratum_prometheus_url"


def test_postgres_is_host_port_database():
    values = {"db_maintenance_host": "db.internal", "db_maintenance_port": 5433, "db_maintenance_database": "stratum"}
    assert check_runbook("db_maintenance", resolver(values))["endpoints"]["postgres"] == "db.internal:5433/stratum"


def test_postgres_missing_host_is_missing():
    values = {"db_maintenance_port": 5432, "db_maintenance_database": "stratum"}
    assert "postgres" in check_runbook("db_maintenance", resolver(values))["missing"]


def test_endpoint_needed_only_for_an_action():
    triage = check_runbook("log_cleanup", resolver({"log_cleanup_path": "/var/log/stratum"}), actions=[])
    assert triage["missing"] == {}
    assert triage["not_configured"]["log_archive"] == "not configured: set stratum_logs.archive_bucket"
    archive = check_runbook("log_cleanup", resolver({"log_cleanup_path": "/var/log/stratum"}), actions=["archive"])
    assert archive["missing"] == {"log_archive": "stratum_logs.archive_bucket", "aws": "stratum_aws.region"}


def test_required_flag_turns_an_action_requirement_off():
    values = {"db_migration_database_url": "postgresql://u:pw@db:5432/s", "db_migration_project_dir": "/srv/x"}
    with_snapshot = check_runbook("db_migration", resolver({**values, "db_migration_snapshot": True}), ["snapshot"])
    assert with_snapshot["missing"] == {"rds_instance": "stratum_database.rds_instance", "aws": "stratum_aws.region"}
    no_snapshot = check_runbook("db_migration", resolver({**values, "db_migration_snapshot": False}), ["snapshot"])
    assert no_snapshot["missing"] == {}
    assert no_snapshot["endpoints"]["database"] == "postgresql://u@db:5432/s"


def test_aws_without_region_is_missing():
    assert check_runbook("secret_rotation", resolver({"secret_rotation_aws": {}}))["missing"] == {
        "aws": "stratum_aws.region"
    }
    ok = check_runbook(
        "secret_rotation",
        resolver({"secret_rotation_aws": {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:5000"}}),
    )
    assert ok["endpoints"]["aws"] == "aws:us-east-1 (http://127.0.0.1:5000)"


def test_notify_sources_are_optional_and_the_webhook_path_is_never_shown():
    result = check_runbook(
        "deploy",
        resolver(
            {
                "deploy_health_url": "https://api.example/health/detailed",
                "stratum_slack_webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETPATH",
                "stratum_slack_channel": "#platform-status",
            }
        ),
    )
    assert result["endpoints"]["slack_webhook"] == "https://hooks.slack.com"
    assert result["endpoints"]["slack_channel"] == "#platform-status"
    assert result["not_configured"]["audit_log"] == "not configured: set stratum_audit_log"
    assert "SECRETPATH" not in str(result)


def test_dependencies_listed_by_name():
    endpoint = next(e for e in RUNBOOKS["incident_high_error_rate"].endpoints if e.name == "dependencies")
    shown = describe(
        endpoint, ([{"name": "meta", "url": "https://graph.facebook.com/"}, {"name": "redis", "tcp": "r:6379"}],)
    )
    assert shown == "meta=https://graph.facebook.com/, redis=r:6379"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:6379/0", "redis://h:6379/0"),
        ("postgresql://user:pw@[::1]:5432/db", "postgresql://user@[::1]:5432/db"),
        ("/var/log/stratum", "/var/log/stratum"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_no_inventory_names_the_sources_it_got():
    problems = check_inventory(None, {"all": ["localhost"]}, "stratum_control", ["/work/inventories/prod"])
    assert len(problems) == 2
    assert "stratum_environment is not set" in problems[0]
    assert "/work/inventories/prod" in problems[0]
    assert "stratum_control" in problems[1]


def test_inventory_loaded():
    assert check_inventory("staging", {"stratum_control": ["app-1"]}, "stratum_control", ["inv"]) == []


def test_unknown_runbook_is_refused():
    with pytest.raises(KeyError, match="unknown runbook"):
        check_runbook("deploy_prod", resolver({}))


def test_error_message_names_every_variable():
    msg = preflight_error("db_maintenance", "staging", {"postgres": "stratum_postgres (host, port, database)"})
    assert "set stratum_postgres (host, port, database)" in msg
    assert "staging" in msg


def test_error_message_carries_why_a_variable_is_undefined():
    msg = preflight_error("incident_redis_memory", "local", {"redis": "stratum_redis.url"}, {"redis": "X is not set"})
    assert "redis: set stratum_redis.url (X is not set)" in msg


def test_registry_needs_its_kind():
    assert check_runbook("build", resolver({"build_registry": {}}))["missing"] == {
        "registry": "stratum_registry (kind, url)"
    }
    ecr = check_runbook("build", resolver({"build_registry": {"kind": "ecr"}}))
    assert ecr["endpoints"]["registry"] == "ecr:(the account registry)"
    plain = check_runbook("build", resolver({"build_registry": {"kind": "plain", "url": "registry.internal:5000"}}))
    assert plain["endpoints"]["registry"] == "plain:registry.internal:5000"


def test_predeploy_needs_the_api_only_for_its_http_checks():
    http = check_runbook("predeploy_checklist", resolver({"predeploy_checklist_check_http": True}))
    assert http["missing"] == {"api": "stratum_services.api.health_url"}
    settings_only = check_runbook("predeploy_checklist", resolver({"predeploy_checklist_check_http": False}))
    assert settings_only["missing"] == {}
