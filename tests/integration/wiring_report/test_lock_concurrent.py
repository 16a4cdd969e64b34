"""One remediation at a time: two concurrent changing runs of incident_redis_memory in one environment; the second
fails at once naming the holder and changes nothing; the first changes state and gives the lock back; a lock left
by a dead run is broken with -e stratum_break_lock=true and the audit line says whose it was."""

from __future__ import annotations

import json
import threading
import time

import jsonschema
from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "incident_redis_memory.yml"
INVENTORY = REPO / "tests" / "integration" / "wiring_report" / "inventory" / "hosts.yml"
LOCK_KEY = "stratum:lock:wiring-test.incident_redis_memory"


def clear(pattern: str, **more) -> dict:
    return {
        "incident_redis_memory_actions": ["clear_namespace"],
        "incident_redis_memory_namespace_pattern": pattern,
        **more,
    }


def test_two_concurrent_changing_runs_one_changes_the_other_reports_the_holder(redis_server, report_schema, tmp_path):
    client = redis_server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(8000):
        pipe.set(f"cache:analytics:{i}", "x")
    for i in range(50):
        pipe.set(f"other:{i}", "y")
    pipe.execute()
    audit = tmp_path / "audit.jsonl"
    base = {
        "stratum_redis": {"url": f"redis://127.0.0.1:{redis_server.port}/0"},
        "stratum_audit_log": str(audit),
        "stratum_lock": True,
    }
    env = {"STRATUM_SLACK_WEBHOOK_URL": "", "REDIS_PASSWORD": "", "USER": "first-engineer"}
    runs: dict = {}

    # The first run is slow on purpose (8 chunks of 1000 keys, 1.5 s apart): it holds the lock meanwhile.
    first = threading.Thread(
        target=lambda: runs.update(
            first=run_playbook(
                PLAYBOOK,
                inventory=INVENTORY,
                env=env,
                extra_vars={**base, **clear("cache:analytics:*", incident_redis_memory_pause_ms=1500)},
            )
        )
    )
    first.start()
    deadline = time.monotonic() + 300
    while not client.exists(LOCK_KEY) and first.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    holder = json.loads(client.get(LOCK_KEY))
    assert holder["owner"] == "first-engineer" and holder["runbook"] == "incident_redis_memory"
    assert 0 < client.ttl(LOCK_KEY) <= 3600

    second = run_playbook(
        PLAYBOOK, inventory=INVENTORY, env={**env, "USER": "second-engineer"}, extra_vars={**base, **clear("other:*")}
    )
    assert first.is_alive(), "the first run ended before the second tried the lock; the test proved nothing"
    assert second.rc != 0
    report = second.custom_stats["_run"]["stratum_report"]
    jsonschema.validate(report, report_schema)
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    assert failed[0]["name"] == "take the lock of this changing run (one remediation at a time)"
    assert failed[0]["error"].startswith(f"locked by first-engineer since {holder['since']} for incident_redis_memory")
    assert report["notifications"]["lock"].startswith("refused: locked by first-engineer")
    assert len(client.keys("other:*")) == 50  # the second run changed nothing

    first.join(timeout=600)
    assert runs["first"].rc == 0, runs["first"].output[-4000:]
    first_report = runs["first"].custom_stats["_run"]["stratum_report"]
    assert first_report["status"] == "changed"
    assert first_report["notifications"]["lock"].endswith(", released")
    assert client.keys("cache:analytics:*") == [] and not client.exists(LOCK_KEY)

    # A dead run's lock: refused without break_lock, taken with it, and the audit line names whose it was.
    client.set(LOCK_KEY, json.dumps({"owner": "ghost", "since": "2026-01-01T00:00:00+00:00", "runbook": "x"}), ex=600)
    broke = run_playbook(
        PLAYBOOK, inventory=INVENTORY, env=env, extra_vars={**base, **clear("other:*"), "stratum_break_lock": True}
    )
    assert broke.rc == 0, broke.output[-4000:]
    lock_note = broke.custom_stats["_run"]["stratum_report"]["notifications"]["lock"]
    assert "broke the lock of ghost since 2026-01-01T00:00:00+00:00 for x" in lock_note
    assert client.keys("other:*") == [] and not client.exists(LOCK_KEY)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(records) == 3
    assert sorted(r["status"] for r in records) == ["changed", "changed", "failed"]
    assert any("broke the lock of ghost" in r["notifications"]["lock"] for r in records)
