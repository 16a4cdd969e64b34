"""extensions/prometheus/alerts.yml: valid for promtool, its unit tests pass, and they would catch a broken rule."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "extensions/prometheus/alerts.yml"
TESTS = REPO / "extensions/prometheus/tests/alerts_test.yml"
PROMTOOL = shutil.which("promtool")
SEED_ALERTS = {
    "HighErrorRate": "incident_high_error_rate",
    "DatabaseConnectionsHigh": "incident_db_connections",
    "RedisMemoryHigh": "incident_redis_memory",
    "CeleryQueueBacklog": "incident_celery_backlog",
    "IntegrationRateLimitApproaching": "incident_rate_limit",
}

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) is installed by make setup")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, check=False)


def test_promtool_check_rules():
    proc = _promtool("check", "rules", RULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_promtool_test_rules():
    proc = _promtool("test", "rules", TESTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_seed_alert_names_its_runbook_service_and_environment():
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} == set(SEED_ALERTS)
    for rule in rules:
        labels = rule["labels"]
        assert labels["runbook"] == SEED_ALERTS[rule["alert"]]
        assert (REPO / "playbooks" / f"{labels['runbook']}.yml").is_file()
        assert labels["service"] and labels["environment"] == "{{ $externalLabels.environment }}"
    tested = yaml.safe_load(TESTS.read_text())
    alerted = {case["alertname"] for t in tested["tests"] for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert alerted == set(SEED_ALERTS), "every alert has a firing unit test"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("> 0.05", "> 0.5"),  # HighErrorRate threshold
        ("(redis_memory_max_bytes > 0)", "redis_memory_max_bytes"),  # unlimited maxmemory would page
    ],
)
def test_the_unit_tests_catch_a_broken_rule(tmp_path, old, new):
    (tmp_path / "tests").mkdir()
    text = RULES.read_text()
    assert old in text
    (tmp_path / "alerts.yml").write_text(text.replace(old, new))
    shutil.copy(TESTS, tmp_path / "tests" / TESTS.name)
    proc = _promtool("test", "rules", tmp_path / "tests" / TESTS.name)
    assert proc.returncode != 0 and "FAILED" in proc.stdout + proc.stderr
