"""stratum.ops.redis_memory_info through Ansible against real throwaway redis-servers."""

from __future__ import annotations

import pytest
from harness.ansible_run import assert_clean_failure, run_module

MODULE = "stratum.ops.redis_memory_info"


@pytest.fixture(scope="module")
def loaded(redis_server_shared):
    """A keyspace with known biggest keys and prefixes (db0) plus a few keys in db3."""
    client = redis_server_shared.client()
    client.flushall()
    pipe = client.pipeline(transaction=False)
    for i in range(3000):
        pipe.set(f"cache:analytics:{i}", "x" * 100)
    for i in range(1000):
        pipe.set(f"session:{i}", "s", ex=3600)
    pipe.execute()
    client.hset("feed:global:big", mapping={str(i): "v" * 100 for i in range(3000)})
    client.rpush("queue:jobs:big", *["j" * 200 for _unused in range(1000)])
    client.set(b"bin\xff:blob:1", "b" * 50000)
    client.set("plainkey", "p")
    redis_server_shared.client(db=3).set("other:db", "v")
    return redis_server_shared, client


def conn(server) -> dict:
    return {"host": server.host, "port": server.port}


def snapshot(client) -> dict:
    """Every key with its type and whether it has a TTL (the remaining seconds tick on their own)."""
    names = list(client.scan_iter(count=1000))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.type(name)
        pipe.ttl(name)
    replies = pipe.execute()
    return {name: (replies[2 * i], replies[2 * i + 1] > 0) for i, name in enumerate(names)}


def test_reports_memory_essentials_biggest_keys_and_prefixes_without_changing_anything(loaded):
    server, client = loaded
    before = snapshot(client)
    result, _unused = run_module(MODULE, {**conn(server), "top_keys": 3, "prefix_depth": 2})

    assert result.status == "ok" and result.changed is False
    memory = result["memory"]
    for name in ("used_memory", "used_memory_rss", "used_memory_peak", "maxmemory", "mem_fragmentation_ratio"):
        assert isinstance(memory[name], (int, float)), name
    assert memory["maxmemory_policy"] and memory["evicted_keys"] == 0
    assert result["memory_pct"] is None  # maxmemory 0 means no limit
    assert result["keys_per_db"]["db0"]["keys"] == 4004
    assert result["keys_per_db"]["db0"]["expires"] == 1000
    assert result["keys_per_db"]["db3"]["keys"] == 1

    assert result["complete"] is True and result["scanned"] == 4004
    names = [k["name"] for k in result["biggest_keys"]]
    assert names == ["feed:global:big", "queue:jobs:big", "bin\\xff:blob:1"]
    assert [k["type"] for k in result["biggest_keys"]] == ["hash", "list", "string"]
    assert all(k["ttl"] == -1 and k["bytes"] > 40000 for k in result["biggest_keys"])

    prefixes = {p["prefix"]: p for p in result["prefixes"]}
    assert prefixes["cache:analytics"]["key_count"] == 3000
    assert prefixes["cache:analytics"]["pattern"] == "cache:analytics:*"
    assert prefixes["cache:analytics"]["ttl_share"] == 0.0
    assert prefixes["session"]["key_count"] == 1000 and prefixes["session"]["ttl_share"] == 1.0
    assert prefixes[""]["key_count"] == 1 and prefixes[""]["pattern"] is None
    assert sum(p["key_count"] for p in result["prefixes"]) == 4004
    assert sum(p["bytes"] for p in result["prefixes"]) == result["scanned_bytes"]
    assert [p["bytes"] for p in result["prefixes"]] == sorted((p["bytes"] for p in result["prefixes"]), reverse=True)
    assert snapshot(client) == before


def test_sample_size_and_match_limit_the_scan(loaded, run_cases):
    server, _client = loaded
    sampled, matched, info_only = run_cases(
        MODULE,
        [
            {**conn(server), "sample_size": 500},
            {**conn(server), "match": "session:*"},
            {**conn(server), "sample_size": 0},
        ],
    )
    assert sampled["scanned"] == 500 and sampled["complete"] is False
    assert matched["scanned"] == 1000 and matched["complete"] is True
    assert [p["prefix"] for p in matched["prefixes"]] == ["session"]
    assert info_only["scanned"] == 0 and info_only["biggest_keys"] == [] and info_only["memory"]["used_memory"] > 0


def test_check_mode_reads_the_same(loaded):
    server, client = loaded
    before = snapshot(client)
    result, _unused = run_module(MODULE, {**conn(server), "top_keys": 1}, check=True)
    assert result.status == "ok" and result["biggest_keys"][0]["name"] == "feed:global:big"
    assert snapshot(client) == before


def test_memory_pct_against_maxmemory_and_fallback_without_scripting(redis_server_factory):
    server = redis_server_factory(password="admin-Pw-1", extra_args=["--maxmemory", "100mb"])
    admin = server.client()
    admin.execute_command("ACL", "SETUSER", "viewer", "on", ">viewer-Pw-2", "~*", "+@all", "-@scripting")
    for i in range(1500):
        admin.set(f"cache:x:{i}", "v" * 10)
    admin.hset("big:h:1", mapping={str(i): "v" * 50 for i in range(2000)})
    args = {"host": server.host, "port": server.port, "username": "viewer", "password": "viewer-Pw-2", "top_keys": 1}
    result, run = run_module(MODULE, args, verbosity=3)
    assert result["method"] == "client"
    assert result["memory"]["maxmemory"] == 100 * 1024 * 1024
    expected = round(100.0 * result["memory"]["used_memory"] / (100 * 1024 * 1024), 2)
    assert result["memory_pct"] == pytest.approx(expected, abs=0.5)
    assert result["biggest_keys"][0]["name"] == "big:h:1"
    assert {p["prefix"]: p["key_count"] for p in result["prefixes"]} == {"cache:x": 1500, "big:h": 1}
    assert "viewer-Pw-2" not in run.output


def test_wrong_password_and_bad_inputs_fail_clearly(redis_server_factory, run_cases):
    server = redis_server_factory(password="right-Pw-3")
    base = {"host": server.host, "port": server.port}
    cases = [
        ({**base, "password": "wrong-Mem-Pw-8"}, "rejected the credentials"),
        ({**base, "password": "right-Pw-3", "top_keys": 0}, "top_keys must be > 0"),
        ({**base, "password": "right-Pw-3", "sample_size": -1}, "sample_size must be >= 0"),
        ({**base, "password": "right-Pw-3", "prefix_delimiter": ""}, "prefix_delimiter must not be empty"),
        ({**base}, "requires a password"),
    ]
    results = run_cases(MODULE, [args for args, _unused in cases])
    for (_args, fragment), result in zip(cases, results, strict=True):
        assert_clean_failure(result, fragment)


def test_redis_down_gives_a_clear_message(redis_server_factory):
    server = redis_server_factory()
    server.stop()
    result, _unused = run_module(MODULE, {**conn(server), "connect_timeout": 2})
    assert_clean_failure(result, "cannot connect to Redis", str(server.port))
