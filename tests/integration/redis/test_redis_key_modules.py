"""stratum.ops.redis_key_info and stratum.ops.redis_flag through Ansible against a real throwaway redis-server."""

from __future__ import annotations

from harness.ansible_run import assert_clean_failure
from harness.servers import free_port

FLAG = "stratum.ops.redis_flag"
KEY_INFO = "stratum.ops.redis_key_info"


def conn(server) -> dict:
    return {"host": server.host, "port": server.port}


def test_key_info_reports_type_length_and_ttl_of_every_key_and_never_a_value(redis_server, run_cases):
    client = redis_server.client()
    client.rpush("batch:meta:pending", *[f"b{i}" for i in range(37)])
    client.sadd("a:set", "x", "y")
    client.zadd("a:zset", {"x": 1, "y": 2, "z": 3})
    client.hset("a:hash", mapping={"f1": "1", "f2": "2", "f3": "3", "f4": "4"})
    client.xadd("a:stream", {"f": "v"})
    client.set("pause:low_priority_sync", "secret-looking-value", ex=500)
    names = ["batch:meta:pending", "a:set", "a:zset", "a:hash", "a:stream", "pause:low_priority_sync", "missing"]
    before = {name: client.dump(name) for name in names}

    # Check mode on purpose: a read-only module answers the same there.
    found, down = run_cases(
        KEY_INFO,
        [{**conn(redis_server), "keys": names}, {"port": free_port(), "keys": names, "connect_timeout": 1}],
        check=True,
    )

    assert not found.failed and not found.changed
    by_name = {entry["name"]: entry for entry in found["key_info"]}
    assert [entry["name"] for entry in found["key_info"]] == names
    assert by_name["batch:meta:pending"] == {
        "name": "batch:meta:pending",
        "exists": True,
        "type": "list",
        "length": 37,
        "ttl": -1,
    }
    assert {n: (by_name[n]["type"], by_name[n]["length"]) for n in names[1:5]} == {
        "a:set": ("set", 2),
        "a:zset": ("zset", 3),
        "a:hash": ("hash", 4),
        "a:stream": ("stream", 1),
    }
    flag = by_name["pause:low_priority_sync"]
    assert (flag["type"], flag["length"]) == ("string", len("secret-looking-value"))
    assert 490 <= flag["ttl"] <= 500
    assert by_name["missing"] == {"name": "missing", "exists": False, "type": None, "length": 0, "ttl": None}
    assert "secret-looking-value" not in str(found.result)
    assert {name: client.dump(name) for name in names} == before
    assert_clean_failure(down, "cannot connect to Redis")


def test_flag_is_set_once_never_overwritten_nor_prolonged_and_check_mode_only_reads(redis_server, run_cases):
    client = redis_server.client()
    client.set("pause:running", "true", ex=100)
    client.set("pause:other", "false")
    base = conn(redis_server)

    would_set, would_remove = run_cases(
        FLAG,
        [{**base, "key": "pause:new", "ttl": 3600}, {**base, "key": "pause:running", "state": "absent"}],
        check=True,
    )
    assert (would_set.changed, would_set["existed"], would_set["ttl"]) == (True, False, 3600)
    assert (would_remove.changed, would_remove["existed"]) == (True, True)
    assert not client.exists("pause:new")
    assert client.get("pause:running") == b"true"

    created, again, running, other, removed, removed_again, bad_ttl, down = run_cases(
        FLAG,
        [
            {**base, "key": "pause:new", "ttl": 3600},
            {**base, "key": "pause:new", "ttl": 3600},
            {**base, "key": "pause:running", "ttl": 3600},
            {**base, "key": "pause:other", "ttl": 3600},
            {**base, "key": "pause:other", "state": "absent"},
            {**base, "key": "pause:other", "state": "absent"},
            {**base, "key": "pause:new", "ttl": 0},
            {"port": free_port(), "key": "pause:new", "connect_timeout": 1},
        ],
    )
    assert (created.changed, created["existed"], created["value_matches"]) == (True, False, True)
    assert 3590 <= created["ttl"] <= 3600
    assert (again.changed, again["existed"], again["value_matches"]) == (False, True, True)
    assert client.get("pause:new") == b"true"
    # A running pause keeps its own end.
    assert (running.changed, running["value_matches"]) == (False, True)
    assert running["ttl"] <= 100 and client.ttl("pause:running") <= 100
    # Another value is left alone, with a warning.
    assert (other.changed, other["value_matches"]) == (False, False)
    assert any("left as it is" in w for w in other.get("warnings", []))
    assert (removed.changed, removed_again.changed) == (True, False)
    assert not client.exists("pause:other")
    assert_clean_failure(bad_ttl, "ttl must be > 0 seconds")
    assert_clean_failure(down, "cannot connect to Redis")
