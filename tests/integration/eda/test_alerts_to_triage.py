"""From a firing alert to a triage report with nobody typing a command, for real: Prometheus evaluates
extensions/prometheus/alerts.yml, Alertmanager routes, the stratum.ops.alertmanager source emits,
ansible-rulebook runs the triage playbook, the report lands in the audit log. Then Alertmanager keeps
repeating the alert and the rulebook's throttle keeps it to one run.

One test, two cases on one stack (pytest-xdist would otherwise start a stack per worker): HighErrorRate,
then RedisMemoryHigh, one condition at a time, so each measured time is that alert's alone.
"""

from __future__ import annotations

import logging
import time

import pytest
from eda_stack import alert_stack
from harness.servers import wait_for

pytestmark = pytest.mark.slow


def record_time(alert: str, seconds: float) -> None:
    """Condition start -> report, in the test report (-rP) and the log; bench/alert_to_report.py tabulates it."""
    logging.getLogger(__name__).warning("%s: condition -> triage report in %.1fs", alert, seconds)


@pytest.fixture(scope="module")
def stack(moto):
    with alert_stack(moto) as running:
        # the API's traffic is scraped (rates exist) before anything fails
        wait_for(lambda: running.api.log_file.exists() and len(running.api.log_lines()) > 10, 30, "API traffic")
        yield running


def _throttled(stack, alertname: str, runbook: str) -> None:
    """Alertmanager repeats the firing alert (every 2 s); the rulebook sees it and runs nothing more."""
    seen = stack.events_seen(alertname)
    wait_for(lambda: stack.events_seen(alertname) >= seen + 2, 20, f"two more {alertname} events at the rulebook")
    time.sleep(1)  # a run the throttle let through would start at once; give it a moment to write nothing
    assert len(stack.notifications(alertname)) >= 3
    assert len(stack.reports(runbook)) == 1, "the throttle let a second triage through"


def _high_error_rate_runs_the_error_rate_triage_once(stack):
    assert stack.reports("incident_high_error_rate") == []
    started = time.monotonic()
    stack.api.faults({"endpoint": "/api/v1/messages", "status": 503, "ratio": 1.0})
    record = stack.wait_for_report("incident_high_error_rate", timeout=180)
    elapsed = time.monotonic() - started

    assert record["status"] == "ok" and record["actions"] == [] and record["environment"] == "local"
    assert record["check_mode"] is False
    assert record["endpoints"]["prometheus"] == stack.prometheus_url
    # the labels Alertmanager delivered, which the rulebook passes on as stratum_alert
    fired = stack.notifications("HighErrorRate")[0]["labels"]
    assert (
        fired["service"] == "api" and fired["runbook"] == "incident_high_error_rate" and fired["environment"] == "local"
    )
    record_time("HighErrorRate", elapsed)
    _throttled(stack, "HighErrorRate", "incident_high_error_rate")
    stack.api.faults({"clear": True})


def _redis_memory_high_runs_the_redis_triage_once(stack):
    assert stack.reports("incident_redis_memory") == []
    started = time.monotonic()
    stack.fill_redis(0.85)
    record = stack.wait_for_report("incident_redis_memory", timeout=180)
    elapsed = time.monotonic() - started

    assert record["status"] == "ok" and record["actions"] == []
    assert record["endpoints"]["redis"] == f"127.0.0.1:{stack.redis.port}/0"
    record_time("RedisMemoryHigh", elapsed)
    _throttled(stack, "RedisMemoryHigh", "incident_redis_memory")
    # the triage changed nothing: every key written is still there
    assert stack.redis.client().dbsize() > 0 and stack.redis.client().exists("cache:e2e:0")


def test_firing_alerts_run_their_triage_once(stack):
    _high_error_rate_runs_the_error_rate_triage_once(stack)
    _redis_memory_high_runs_the_redis_triage_once(stack)
