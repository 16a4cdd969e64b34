"""The runbook lock: one holder per (environment, runbook), stale locks expire, break_lock names whom it took from."""

from __future__ import annotations

import time

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.lock import (
    FileLock,
    LockHeld,
    RedisLock,
    lock_name,
    new_record,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def record(run_id: str, owner: str = "alice", ttl: int = 60, now=time.time):
    return new_record(owner, "incident_redis_memory", "staging", run_id, ttl, now=now)


def test_a_second_run_is_refused_with_the_holder_and_the_first_releases(tmp_path):
    lock = FileLock(str(tmp_path / "locks"), lock_name("staging", "incident_redis_memory"))
    assert lock.acquire(record("run-1"))["acquired"]
    with pytest.raises(LockHeld) as held:
        lock.acquire(record("run-2", owner="bob"))
    assert str(held.value).startswith("locked by alice since ")
    assert "for incident_redis_memory (staging)" in str(held.value)
    assert lock.release("run-2") is False  # never someone else's lock
    assert lock.release("run-1") is True
    assert lock.acquire(record("run-2", owner="bob"))["acquired"]


def test_the_same_run_keeps_its_lock(tmp_path):
    lock = FileLock(str(tmp_path), "staging.deploy")
    lock.acquire(record("run-1"))
    assert lock.acquire(record("run-1"))["reentrant"] is True


def test_a_stale_file_lock_is_taken_over(tmp_path):
    clock = Clock()
    lock = FileLock(str(tmp_path), "staging.deploy", now=clock)
    lock.acquire(record("dead-run", ttl=60, now=clock))
    clock.t += 61
    outcome = lock.acquire(record("run-2", owner="bob", now=clock))
    assert outcome["taken_from"]["run_id"] == "dead-run"
    assert lock.holder()["owner"] == "bob"


def test_break_lock_takes_a_live_lock_and_says_from_whom(tmp_path):
    lock = FileLock(str(tmp_path), "staging.deploy")
    lock.acquire(record("run-1"))
    outcome = lock.acquire(record("run-2", owner="bob"), break_lock=True)
    assert outcome["taken_from"]["owner"] == "alice"
    assert lock.holder()["run_id"] == "run-2"


def test_check_mode_writes_no_lock(tmp_path):
    lock = FileLock(str(tmp_path), "staging.deploy")
    assert lock.acquire(record("run-1"), dry_run=True)["acquired"]
    assert lock.holder() == {}


def test_lock_name_needs_environment_and_runbook():
    assert lock_name("prod west", "deploy") == "prod_west.deploy"
    with pytest.raises(ValueError, match="environment and a runbook"):
        lock_name("", "deploy")


def test_redis_lock_set_nx_with_ttl_owner_and_compare_and_delete(redis_server):
    client = redis_server.client()
    lock = RedisLock(client, "staging.incident_redis_memory")
    lock.acquire(record("run-1"), ttl=30)
    assert 0 < client.ttl(lock.key) <= 30
    with pytest.raises(LockHeld, match="locked by alice since"):
        lock.acquire(record("run-2", owner="bob"), ttl=30)
    assert lock.release("run-2") is False and client.exists(lock.key)
    taken = lock.acquire(record("run-2", owner="bob"), ttl=30, break_lock=True)
    assert taken["taken_from"]["owner"] == "alice"
    assert lock.release("run-2") is True and not client.exists(lock.key)


def test_redis_expires_a_stale_lock_by_itself(redis_server):
    client = redis_server.client()
    lock = RedisLock(client, "staging.deploy")
    lock.acquire(record("dead-run"), ttl=1)
    deadline = time.monotonic() + 5
    while client.exists(lock.key) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lock.acquire(record("run-2", owner="bob"), ttl=30)["taken_from"] is None
