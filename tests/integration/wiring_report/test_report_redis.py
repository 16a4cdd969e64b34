"""incident_redis_memory end to end: the one report in set_stats, a Slack message, an audit line; on success and
when Redis dies before the run (the report still lists the failed step and next steps, and the play fails)."""

from __future__ import annotations

import json

import jsonschema
from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "incident_redis_memory.yml"
INVENTORY = REPO / "tests" / "integration" / "wiring_report" / "inventory" / "hosts.yml"
TOKEN = "T000/B000/wiring-Secret-Token-7731"
PASSWORD = "wiring-Redis-Pw-5512"


def test_report_message_and_audit_on_success_then_on_a_dead_backend(
    redis_server_factory, webhook, report_schema, tmp_path
):
    server = redis_server_factory(password=PASSWORD)
    server.client().set("cache:analytics:1", "x" * 100)
    audit = tmp_path / "audit.jsonl"
    env = {"STRATUM_SLACK_WEBHOOK_URL": webhook.url(TOKEN), "REDIS_PASSWORD": PASSWORD}
    extra = {
        "stratum_redis": {"url": f"redis://127.0.0.1:{server.port}/0"},
        "stratum_audit_log": str(audit),
    }

    ok = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra, env=env)
    assert ok.rc == 0, ok.output[-4000:]
    report = ok.custom_stats["_run"]["stratum_report"]
    jsonschema.validate(report, report_schema)
    assert report["runbook"] == "incident_redis_memory" and report["environment"] == "wiring-test"
    assert report["status"] == "ok"
    assert report["endpoints"]["redis"] == f"127.0.0.1:{server.port}/0"
    assert [s["status"] for s in report["steps"]] == ["ok", "skipped", "skipped", "skipped"]
    # The role's own key stays beside it, with the same content as findings.
    assert ok.custom_stats["_run"]["incident_redis_memory_report"] == report["findings"]
    assert report["findings"]["keys_per_db"]["db0"]["keys"] == 1
    assert report["notifications"]["slack"] == "sent to #platform-status"
    assert ok.stats["localhost"]["changed"] == 0  # announcing and auditing are not changes
    assert f"Redis: 127.0.0.1:{server.port}/0." in ok.stdout  # the role's summary names its endpoint
    # Not an announcing runbook: one message, at the end.
    assert [m["status"] for m in webhook.messages] == ["ok"]
    assert webhook.messages[0]["environment"] == "wiring-test"
    assert webhook.messages[0]["runbook"] == "incident_redis_memory"
    assert webhook.messages[0]["channel"] == "#platform-status"
    assert webhook.paths == [f"/services/{TOKEN}"]

    server.kill()  # the backend dies before the next run
    failed = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra, env=env)
    assert failed.rc != 0
    report = failed.custom_stats["_run"]["stratum_report"]
    jsonschema.validate(report, report_schema)
    assert report["status"] == "failed"
    step = report["steps"][0]
    assert step["name"] == "read memory, biggest keys and namespaces" and step["status"] == "failed"
    assert str(server.port) in step["error"]
    assert report["next_steps"][0].startswith('Fix the cause of step "read memory, biggest keys and namespaces"')
    printed = " ".join(failed.stdout.split())  # the YAML callback folds long lines
    assert 'Failed step "read memory, biggest keys and namespaces": cannot connect to Redis' in printed
    assert "Next: Fix the cause of step" in printed
    assert failed.task("Notify | fail the play, the run failed").failed
    assert webhook.messages[-1]["status"] == "failed" and "read memory" in webhook.messages[-1]["text"]

    lines = audit.read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert records[1]["failed_step"] == "read memory, biggest keys and namespaces"
    assert all(r["runbook"] == "incident_redis_memory" and r["environment"] == "wiring-test" for r in records)
    assert all(r["user"] for r in records)
    for text in (audit.read_text(), failed.output, ok.output):
        assert PASSWORD not in text and "wiring-Secret-Token-7731" not in text
