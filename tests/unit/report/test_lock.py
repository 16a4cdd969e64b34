"""The runbook lock: one holder per (environment, scope), stale locks expire or die with their run, break_lock
names whom it took from, one winner among concurrent takers."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.lock import (
    FileLock,
    LockHeld,
    RedisLock,
    acquire_all,
    lock_name,
    lock_note,
    lock_scopes,
    new_record,
    playbook_pid,
    process_alive,
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


# ------------------------------------------------------------------ scopes, dead runs, races, the report line


def test_scopes_are_the_services_sorted_else_the_runbook():
    assert lock_scopes("deploy", ["workers", "api", "api", " "]) == ["api", "workers"]
    assert lock_scopes("incident_redis_memory", []) == ["incident_redis_memory"]
    assert lock_name("production", "api") == "production.api"


def test_all_scopes_or_none_a_held_one_gives_back_what_was_taken(tmp_path):
    directory = str(tmp_path)
    api, workers = (FileLock(directory, lock_name("staging", s), scope=s) for s in ("api", "workers"))
    workers.acquire(record("rollback-run", owner="carol"))
    with pytest.raises(LockHeld) as held:
        acquire_all([api, workers], record("deploy-run", owner="bob"), ttl=60)
    assert "locked by carol" in str(held.value) and "(staging: workers" in str(held.value)
    assert api.holder() == {}  # the api lock taken on the way was given back
    assert workers.holder()["run_id"] == "rollback-run"


def test_a_lock_whose_run_is_gone_on_this_host_is_taken_over_at_once(tmp_path):
    gone = {4242}
    lock = FileLock(str(tmp_path), "staging.deploy", host="ctl-1", alive=lambda pid: pid not in gone)
    dead = new_record("alice", "deploy", "staging", "dead-run", 3600, host="ctl-1", pid=4242)
    lock.acquire(dead)
    live_elsewhere = FileLock(str(tmp_path), "staging.deploy", host="ctl-2", alive=lambda pid: False)
    with pytest.raises(LockHeld, match="pid 4242 on ctl-1"):
        live_elsewhere.acquire(record("run-2", owner="bob"))  # another host cannot tell: the TTL decides
    outcome = lock.acquire(record("run-3", owner="bob"))
    assert outcome["taken_from"]["owner"] == "alice" and outcome["taken_from"]["because"] == "its run is gone"


def test_a_live_holder_on_this_host_is_respected(tmp_path):
    lock = FileLock(str(tmp_path), "staging.deploy", host="ctl-1", alive=lambda pid: True)
    lock.acquire(new_record("alice", "deploy", "staging", "run-1", 3600, host="ctl-1", pid=99))
    with pytest.raises(LockHeld):
        lock.acquire(record("run-2", owner="bob"))


def _contend(directory: str, run_id: str, queue) -> None:
    try:
        FileLock(directory, "staging.deploy").acquire(record(run_id))
        queue.put(run_id)
    except LockHeld:
        queue.put(None)


def test_concurrent_processes_one_wins_the_file_lock(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(tmp_path), f"run-{i}", queue)) for i in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(10)
    winners = [w for w in (queue.get(timeout=5) for _unused in procs) if w]
    assert len(winners) == 1
    assert FileLock(str(tmp_path), "staging.deploy").holder()["run_id"] == winners[0]


def test_concurrent_stale_take_over_has_one_winner(tmp_path):
    FileLock(str(tmp_path), "staging.deploy").acquire(record("dead-run", ttl=1, now=lambda: time.time() - 10))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(tmp_path), f"run-{i}", queue)) for i in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(10)
    assert len([w for w in (queue.get(timeout=5) for _unused in procs) if w]) == 1


def test_redis_take_over_of_a_dead_run_is_compare_and_set(redis_server):
    client = redis_server.client()
    lock = RedisLock(client, "staging.deploy", host="ctl-1", alive=lambda pid: False)
    lock.acquire(new_record("alice", "deploy", "staging", "dead-run", 600, host="ctl-1", pid=7), ttl=600)
    outcome = lock.acquire(record("run-2", owner="bob"), ttl=600)
    assert outcome["taken_from"]["because"] == "its run is gone"
    assert lock.holder()["run_id"] == "run-2" and 0 < client.ttl(lock.key) <= 600
    # A holder on another host is live until Redis expires it.
    other = RedisLock(client, "staging.deploy", host="ctl-9", alive=lambda pid: False)
    with pytest.raises(LockHeld, match="locked by bob"):
        other.acquire(record("run-3"), ttl=600)


def test_playbook_pid_is_the_outermost_ansible_playbook_ancestor(tmp_path):
    tree = {  # pid: (ppid, argv)
        500: (400, ["/venv/bin/python", "/tmp/AnsiballZ_runbook_lock.py"]),
        400: (301, ["/bin/sh", "-c", "python AnsiballZ"]),
        301: (300, ["/venv/bin/python3", "/venv/bin/ansible-playbook", "deploy.yml"]),  # the task's worker fork
        300: (200, ["/venv/bin/python3", "/venv/bin/ansible-playbook", "deploy.yml"]),
        200: (1, ["bash"]),
    }
    for pid, (ppid, argv) in tree.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (py (x)) S {ppid} 1 1\n")
    assert playbook_pid(start=500, proc=str(tmp_path)) == 300
    assert playbook_pid(start=200, proc=str(tmp_path)) is None


def test_process_alive_of_this_process_and_of_a_gone_one():
    assert process_alive(os.getpid()) is False  # pytest is not ansible-playbook: a reused pid counts as gone
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_alive(child.pid) is False


@pytest.mark.parametrize(
    ("held", "kwargs", "expected"),
    [
        ({}, {"refusal": "locked by bob since x for deploy (staging)"}, "refused: locked by bob since x for deploy (staging)"),
        ({}, {"check_mode": True, "changes": True}, "not taken (check mode)"),
        ({}, {"changes": False}, "not taken (triage only)"),
        ({}, {"changes": True, "enabled": False}, "not taken (stratum_lock is off)"),
        ({"acquired": True, "lock": "/l/staging.api.lock"}, {"released": True}, "held /l/staging.api.lock, released"),
        (
            {"acquired": True, "lock": "k", "taken_from": [{"owner": "ghost", "since": "t0", "runbook": "x"}]},
            {},
            "held k, broke the lock of ghost since t0 for x, NOT released (expires after its TTL)",
        ),
        (
            {
                "acquired": True,
                "lock": "f",
                "redis_error": "OOM",
                "taken_from": [{"owner": "al", "since": "t", "runbook": "deploy", "because": "expired"}],
            },
            {"released": True},
            "held f (Redis could not hold it: OOM; a lock file on the controller instead), "
            "took over the stale lock (expired) of al since t for deploy, released",
        ),
    ],
)
def test_lock_note(held, kwargs, expected):
    assert lock_note(held, **kwargs) == expected
