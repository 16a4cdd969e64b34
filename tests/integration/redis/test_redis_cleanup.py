"""stratum.ops.redis_cleanup through Ansible against real throwaway redis-servers."""

from __future__ import annotations

import threading
import time

import pytest
from harness.ansible_run import assert_clean_failure, run_module

MODULE = "stratum.ops.redis_cleanup"
LONG = "cache:analytics:" + "L" * 20000
TRICKY_TARGETS = [
    b"cache:analytics:plain",
    b"cache:analytics:\xff\xfe\x00binary",
    "cache:analytics:caf\u00e9:\u65e5\u672c:\U0001f680".encode(),
    LONG.encode(),
    b"cache:analytics:with space\nand newline",
    b"cache:analytics:*literal-star",
    b"cache:analytics:",
]
TRICKY_OTHERS = [
    b"cache:analytics",  # no trailing colon: does not match cache:analytics:*
    b"cache:analyticsX:1",
    b"CACHE:analytics:1",
    b"xcache:analytics:1",
    b"cache:users:\xff\xfe",
    "cache:analytic\u00e9:1".encode(),
]


def conn(server) -> dict:
    return {"host": server.host, "port": server.port, **({"password": server.password} if server.password else {})}


def populate(client, prefix: str, count: int, start: int = 0) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(start, start + count):
        pipe.set(f"{prefix}{i}", "v")
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def all_keys(client) -> set[bytes]:
    return set(client.scan_iter(count=1000))


@pytest.fixture
def redis(redis_server):
    client = redis_server.client()
    client.flushall()
    return redis_server, client


def test_deletes_exactly_the_matching_keys_including_binary_unicode_and_long_names(redis):
    server, client = redis
    for name in TRICKY_TARGETS + TRICKY_OTHERS:
        client.set(name, "v")
    client.hset("cache:analytics:hash", mapping={"a": "1"})
    client.rpush("cache:analytics:list", "x")
    populate(client, "cache:analytics:n:", 3000)
    populate(client, "cache:users:", 3000)
    before = all_keys(client)
    expected_gone = {k for k in before if k.startswith(b"cache:analytics:")}

    result, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*", "batch_size": 500})

    assert result.status == "changed", result.result
    after = all_keys(client)
    assert after == before - expected_gone
    assert result["deleted"] == len(expected_gone) == result["matched"]
    assert result["truncated"] is False
    assert result["method"] == "lua"
    assert 1 <= len(result["sample"]) <= 10
    assert all(name.startswith("cache:analytics:") for name in result["sample"])


def test_sample_shows_binary_names_with_escapes(redis):
    server, client = redis
    client.set(b"tmp:bin:\xff\x00", "v")
    result, _unused = run_module(MODULE, {**conn(server), "pattern": "tmp:bin:*"}, check=True)
    assert result["sample"] == ["tmp:bin:\\xff\x00"]


def test_concurrent_writer_cannot_save_preexisting_targets_or_lose_other_keys(redis):
    server, client = redis
    populate(client, "cache:analytics:old:", 40000)
    populate(client, "keep:old:", 20000)
    preexisting_targets = {k for k in all_keys(client) if k.startswith(b"cache:analytics:")}
    stop = threading.Event()
    written: list[bytes] = []

    def writer() -> None:
        writer_client = server.client()
        i = 0
        while not stop.is_set():
            writer_client.set(f"cache:analytics:new:{i}", "v")
            writer_client.set(f"keep:new:{i}", "v")
            written.append(f"keep:new:{i}".encode())
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result, _unused = run_module(
            MODULE, {**conn(server), "pattern": "cache:analytics:*", "batch_size": 200, "scan_count": 200}
        )
    finally:
        stop.set()
        thread.join()

    assert result.status == "changed", result.result
    assert written, "the writer wrote nothing while the module ran"
    remaining = all_keys(client)
    assert not preexisting_targets & remaining
    assert {f"keep:old:{i}".encode() for i in range(20000)} <= remaining
    assert set(written) <= remaining
    assert all(not k.startswith(b"cache:analytics:old:") for k in remaining)


def test_check_mode_deletes_nothing_and_counts_exactly(redis):
    server, client = redis
    populate(client, "cache:analytics:", 2500)
    populate(client, "cache:users:", 1000)
    before = all_keys(client)

    result, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*"}, check=True)

    assert result.status == "changed"
    assert result["deleted"] == 2500
    assert all_keys(client) == before
    assert {name.encode() for name in result["sample"]} <= before
    assert len(result["sample"]) == 10


def test_second_run_reports_no_change(redis):
    server, client = redis
    populate(client, "cache:analytics:", 100)
    first, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*"})
    second, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*"})
    assert first.changed and first["deleted"] == 100
    assert second.status == "ok"
    assert second["deleted"] == 0 and second["matched"] == 0 and second["sample"] == []


def test_expire_sets_ttl_only_where_missing_or_longer(redis):
    server, client = redis
    for i in range(50):
        client.set(f"cache:feed:none:{i}", "v")
        client.set(f"cache:feed:long:{i}", "v", ex=100000)
        client.set(f"cache:feed:short:{i}", "v", ex=1800)
    client.set("other:none", "v")
    args = {**conn(server), "pattern": "cache:feed:*", "action": "expire", "ttl": 3600}

    check, _unused = run_module(MODULE, args, check=True)
    assert check["expired"] == 100 and "deleted" not in check.result
    assert client.ttl("cache:feed:none:0") == -1

    result, _unused = run_module(MODULE, args)
    assert result.status == "changed" and result["expired"] == 100 and result["matched"] == 150
    for i in range(50):
        assert 3590 <= client.ttl(f"cache:feed:none:{i}") <= 3600
        assert 3590 <= client.ttl(f"cache:feed:long:{i}") <= 3600
        assert client.ttl(f"cache:feed:short:{i}") <= 1800
    assert client.ttl("other:none") == -1
    assert client.dbsize() == 151

    again, _unused = run_module(MODULE, args)
    assert again.status == "ok" and again["expired"] == 0


def test_key_type_limits_the_cleanup_to_one_type(redis):
    server, client = redis
    for i in range(20):
        client.set(f"cache:mixed:s{i}", "v")
        client.hset(f"cache:mixed:h{i}", mapping={"f": "v"})
        client.sadd(f"cache:mixed:set{i}", "m")
    client.xadd("cache:mixed:stream", {"f": "v"})

    result, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:mixed:*", "key_type": "hash"})
    assert result["deleted"] == 20 and result["matched"] == 20 and result["scanned"] == 61
    assert {client.type(k) for k in client.scan_iter("cache:mixed:*")} == {b"string", b"set", b"stream"}

    streams, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:mixed:*", "key_type": "stream"})
    assert streams["deleted"] == 1 and not client.exists("cache:mixed:stream")


def test_max_keys_stops_and_reports_truncated_then_a_rerun_finishes(redis):
    server, client = redis
    populate(client, "cache:analytics:", 3000)
    first, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*", "max_keys": 1234})
    assert first["deleted"] == 1234 and first["truncated"] is True
    assert client.dbsize() == 3000 - 1234
    rest, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*"})
    assert rest["deleted"] == 3000 - 1234 and rest["truncated"] is False
    assert client.dbsize() == 0


def test_broad_patterns_are_refused_and_touch_nothing(redis_server_shared, run_cases):
    client = redis_server_shared.client()
    client.set("abc:keep", "v")
    patterns = ["*", "**", "?*", "ab*", "[abc]*"]
    results = run_cases(MODULE, [{**conn(redis_server_shared), "pattern": p} for p in patterns])
    for pattern, result in zip(patterns, results, strict=True):
        assert_clean_failure(result, "broad pattern", "allow_broad_pattern", pattern)
    assert client.exists("abc:keep")


def test_broad_pattern_runs_when_explicitly_allowed(redis):
    server, client = redis
    populate(client, "x", 10)
    result, _unused = run_module(MODULE, {**conn(server), "pattern": "*", "allow_broad_pattern": True})
    assert result["deleted"] == 10 and client.dbsize() == 0


BAD_INPUTS = [
    ({"pattern": ""}, "pattern must not be empty"),
    ({"pattern": "cache:x:*", "action": "expire", "ttl": 0}, "ttl must be > 0"),
    ({"pattern": "cache:x:*", "action": "expire", "ttl": -1}, "ttl must be > 0"),
    ({"pattern": "cache:x:*", "action": "expire"}, "ttl (seconds, > 0) is required"),
    ({"pattern": "cache:x:*", "ttl": 60}, "only used with action=expire"),
    ({"pattern": "cache:x:*", "batch_size": 0}, "batch_size must be >= 1"),
    ({"pattern": "cache:x:*", "key_type": "blob"}, "key_type"),
    ({"pattern": "cache:x:*", "action": "truncate"}, "action"),
    ({"pattern": "cache:x:*", "url": "http://localhost"}, "redis://"),
]


def test_bad_inputs_fail_with_a_clear_message_and_no_traceback(redis_server_shared, run_cases):
    client = redis_server_shared.client()
    client.set("cache:x:1", "v")
    results = run_cases(MODULE, [{**conn(redis_server_shared), **args} for args, _unused in BAD_INPUTS])
    for (_args, fragment), result in zip(BAD_INPUTS, results, strict=True):
        assert_clean_failure(result, fragment)
    assert client.exists("cache:x:1")


def test_wrong_password_gives_a_clear_message_and_never_shows_the_password(redis_server_factory):
    server = redis_server_factory(password="right-Pw-7731")
    server.client().set("cache:analytics:1", "v")
    secret = "wrong-Secret-Pw-5519"
    result, run = run_module(MODULE, {**conn(server), "password": secret, "pattern": "cache:analytics:*"}, verbosity=3)
    assert_clean_failure(result, "rejected the credentials", "default")
    assert secret not in run.output
    url = f"redis://:{secret}@{server.host}:{server.port}/0"
    result, run = run_module(MODULE, {"url": url, "pattern": "cache:analytics:*"}, verbosity=3)
    assert_clean_failure(result, "rejected the credentials")
    assert secret not in run.output
    assert server.client().exists("cache:analytics:1")


def test_url_from_redis_url_environment_variable_with_password(redis_server_factory):
    server = redis_server_factory(password="env-Pw-9921")
    server.client().set("cache:analytics:1", "v")
    result, run = run_module(MODULE, {"pattern": "cache:analytics:*"}, env={"REDIS_URL": server.url}, verbosity=3)
    assert result["deleted"] == 1
    assert "env-Pw-9921" not in run.output


def test_acl_user_with_and_without_scripting_permission(redis_server_factory):
    server = redis_server_factory(password="admin-Pw-1")
    admin = server.client()
    admin.execute_command("ACL", "SETUSER", "cleaner", "on", ">cleaner-Pw-2", "~cache:*", "+@all")
    admin.execute_command("ACL", "SETUSER", "noscript", "on", ">noscript-Pw-3", "~cache:*", "+@all", "-@scripting")
    populate(admin, "cache:analytics:", 500)
    populate(admin, "keep:", 10)
    base = {"host": server.host, "port": server.port, "pattern": "cache:analytics:*", "max_keys": 200}

    lua, _unused = run_module(MODULE, {**base, "username": "cleaner", "password": "cleaner-Pw-2"})
    assert lua["deleted"] == 200 and lua["method"] == "lua"
    client, _unused = run_module(
        MODULE, {**base, "username": "noscript", "password": "noscript-Pw-3", "max_keys": None}
    )
    assert client["deleted"] == 300 and client["method"] == "client"
    assert admin.dbsize() == 10
    bad, run = run_module(MODULE, {**base, "username": "cleaner", "password": "nope-Pw-4"}, verbosity=3)
    assert_clean_failure(bad, "rejected the credentials", "cleaner")
    assert "nope-Pw-4" not in run.output


def test_client_fallback_expires_and_filters_types_like_the_lua_path(redis_server_factory):
    server = redis_server_factory(password="admin-Pw-1")
    admin = server.client()
    admin.execute_command("ACL", "SETUSER", "noscript", "on", ">noscript-Pw-3", "~*", "+@all", "-@scripting")
    for i in range(30):
        admin.set(f"cache:f:s{i}", "v")
        admin.hset(f"cache:f:h{i}", mapping={"a": "1"})
    admin.expire("cache:f:h0", 300)
    base = {"host": server.host, "port": server.port, "username": "noscript", "password": "noscript-Pw-3"}
    args = {**base, "pattern": "cache:f:*", "key_type": "hash", "action": "expire", "ttl": 600}
    check, _unused = run_module(MODULE, args, check=True)
    assert check["expired"] == 29 and check["method"] == "client"
    result, _unused = run_module(MODULE, args)
    assert result["expired"] == 29 and result["matched"] == 30
    assert admin.ttl("cache:f:h0") <= 300 and admin.ttl("cache:f:h1") > 500 and admin.ttl("cache:f:s1") == -1


def test_redis_down_gives_a_clear_message(redis_server_factory):
    server = redis_server_factory()
    server.stop()
    result, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*", "connect_timeout": 2})
    assert_clean_failure(result, "cannot connect to Redis", f"{server.port}")


def test_server_killed_mid_run_reports_how_many_were_deleted_and_a_rerun_completes(redis_server_factory):
    durable = ["--appendonly", "yes", "--appendfsync", "always"]
    server = redis_server_factory(extra_args=durable)
    client = server.client()
    populate(client, "cache:analytics:", 20000)
    populate(client, "keep:", 100)
    outcome: dict = {}

    def cleanup() -> None:
        outcome["result"], _unused = run_module(
            MODULE,
            {**conn(server), "pattern": "cache:analytics:*", "batch_size": 100, "scan_count": 100, "pause_ms": 20},
        )

    thread = threading.Thread(target=cleanup)
    thread.start()
    watcher = server.client()
    while watcher.dbsize() > 20100 - 1000 and thread.is_alive():
        time.sleep(0.05)
    server.kill()
    thread.join()

    result = outcome["result"]
    assert_clean_failure(result, "lost the connection to Redis", "deleted", "rerun")
    assert result["deleted"] >= 1000
    # the last batch's reply was lost with the connection: the count is a floor, and the message says so
    assert f"after at least {result['deleted']} keys" in result["msg"]

    server.start(durable)
    remaining = server.client().dbsize() - 100
    assert 0 < remaining <= 20000 - result["deleted"]
    rerun, _unused = run_module(MODULE, {**conn(server), "pattern": "cache:analytics:*"})
    assert rerun["deleted"] == remaining
    assert server.client().dbsize() == 100
