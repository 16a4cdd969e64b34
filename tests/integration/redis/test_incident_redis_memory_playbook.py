"""playbooks/incident_redis_memory.yml end to end: Redis from stratum_redis.url, nothing destructive unless asked."""

from __future__ import annotations

from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "incident_redis_memory.yml"


def test_triage_and_check_mode_clear_change_nothing_and_keep_the_password_out_of_the_output(redis_server_factory):
    server = redis_server_factory(password="runbook-Pw-6612", extra_args=["--maxmemory", "64mb"])
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"cache:analytics:{i}", "a" * 200)
    for i in range(100):
        pipe.set(f"user:{i}", "u")
    pipe.execute()
    # As an inventory gives it (password in the URL here: it must still never be printed).
    endpoint = {"stratum_redis": {"url": server.url}}

    triage = run_playbook(PLAYBOOK, extra_vars=endpoint, verbosity=3)
    assert triage.rc == 0, triage.output[-3000:]
    report = triage.custom_stats["_run"]["incident_redis_memory_report"]
    assert report["prefixes"][0]["pattern"] == "cache:analytics:*"
    assert report["keys_per_db"]["db0"]["keys"] == 2100
    assert report["memory_pct"] is not None and report["over_threshold"] is False
    assert report["cleared"] == {} and report["expired"] == {}
    assert "runbook-Pw-6612" not in triage.output

    would = run_playbook(
        PLAYBOOK,
        check=True,
        extra_vars={
            **endpoint,
            "incident_redis_memory_actions": ["clear_namespace"],
            "incident_redis_memory_namespace_pattern": "cache:analytics:*",
        },
    )
    assert would.rc == 0, would.output[-3000:]
    report = would.custom_stats["_run"]["incident_redis_memory_report"]
    assert report["cleared"]["deleted"] == 2000
    assert client.dbsize() == 2100

    refused = run_playbook(
        PLAYBOOK,
        extra_vars={
            **endpoint,
            "incident_redis_memory_actions": ["clear_namespace"],
            "incident_redis_memory_namespace_pattern": "*",
        },
    )
    assert refused.rc != 0
    assert "refusing a broad pattern" in refused.output
    assert client.dbsize() == 2100
