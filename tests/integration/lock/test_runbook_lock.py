"""One remediation at a time, through real ansible-playbook processes: two changing runs of db_migration started
together against one PostgreSQL (a migration that takes a few seconds) - once with the lock in the environment's
Redis, once in a lock file on the controller. Exactly one migrates, the other fails at once naming the holder and
changes nothing. Then, on each backend, what a lock left behind becomes: broken with -e stratum_break_lock=true
(audited), taken over when its TTL has passed, taken over at once when its ansible-playbook process is gone; and a
Redis that does not answer leaves the lock to the file."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from harness.ansible_run import REPO, run_playbook
from harness.servers import free_port

PLAYBOOK = REPO / "playbooks" / "db_migration.yml"
SLOW_PROJECT = Path(__file__).resolve().parent / "slow_alembic"
ALEMBIC = Path(sys.executable).parent / "alembic"
REVISION = "c0ffee000001"
ENVIRONMENT = "lock-test"
LOCK_KEY = f"stratum:lock:{ENVIRONMENT}.database"
LOCK_STEP = "take the lock of this changing run (one remediation at a time)"
_databases = itertools.count()


@pytest.fixture
def database(postgres_server):
    """A fresh database on the module's PostgreSQL: (URL, connect())."""
    name = f"lock_{next(_databases)}_{os.getpid()}"
    conn = postgres_server.connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = (
        f"postgresql+psycopg2://{postgres_server.user}:{postgres_server.password}"
        f"@{postgres_server.host}:{postgres_server.port}/{name}"
    )
    return url, lambda: postgres_server.connect(dbname=name)


def apply_vars(url: str, tmp_path: Path, **extra) -> dict:
    """A changing run: the migration of the slow project, applied (not a plan)."""
    return {
        "stratum_environment": ENVIRONMENT,
        "db_migration_project_dir": str(SLOW_PROJECT),
        "db_migration_alembic_executable": str(ALEMBIC),
        "db_migration_database_url": url,
        "db_migration_artifact_dir": str(tmp_path / "artifacts"),
        "db_migration_snapshot": False,
        "db_migration_actions": ["migrate"],
        "db_migration_apply": True,
        "stratum_audit_log": str(tmp_path / "audit.jsonl"),
        **extra,
    }


def run(extra: dict, user: str, lock_dir: Path):
    env = {"USER": user, "STRATUM_LOCK_DIR": str(lock_dir), "STRATUM_SLACK_WEBHOOK_URL": "", "REDIS_PASSWORD": ""}
    return run_playbook(PLAYBOOK, extra_vars=extra, env=env)


def together(extra: dict, lock_dir: Path) -> dict:
    """alice's and bob's runs, started at the same moment; {user: PlaybookRun}."""
    runs: dict = {}
    start = threading.Barrier(2)

    def one(user: str) -> None:
        start.wait()
        runs[user] = run(extra, user, lock_dir)

    threads = [threading.Thread(target=one, args=(user,)) for user in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return runs


def report(run_) -> dict:
    return run_.custom_stats["_run"]["stratum_report"]


def migrated_rows(connect) -> tuple[list[str] | None, int]:
    """(alembic_version, rows the migration inserted) read back from PostgreSQL."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL, to_regclass('lock_proof') IS NOT NULL")
            has_version, has_proof = cur.fetchone()
            version = None
            if has_version:
                cur.execute("SELECT version_num FROM alembic_version")
                version = [row[0] for row in cur.fetchall()]
            rows = 0
            if has_proof:
                cur.execute("SELECT count(*) FROM lock_proof")
                rows = cur.fetchone()[0]
            return version, rows
    finally:
        conn.close()


def assert_one_winner(runs: dict, connect, lock_word: str) -> tuple[str, str]:
    """Exactly one run migrated; the other was refused at the lock step naming the winner, and changed nothing."""
    winners = [user for user, r in runs.items() if r.rc == 0]
    assert len(winners) == 1, {user: (r.rc, r.output[-2500:]) for user, r in runs.items()}
    winner = winners[0]
    loser = "bob" if winner == "alice" else "alice"
    assert migrated_rows(connect) == ([REVISION], 1)

    won, lost = report(runs[winner]), report(runs[loser])
    assert won["status"] == "changed" and won["findings"]["migrated"] is True
    assert won["notifications"]["lock"].startswith(f"held {lock_word}")
    # Its own lock was still there to give back at the end: the loser never removed it.
    assert won["notifications"]["lock"].endswith(", released")

    assert lost["status"] == "failed"
    failed = [s for s in lost["steps"] if s["status"] == "failed"]
    assert failed[0]["name"] == LOCK_STEP, lost["steps"]
    assert failed[0]["error"].startswith(f"locked by {winner} since ")
    assert f"for db_migration ({ENVIRONMENT}: database" in failed[0]["error"]
    assert lost["notifications"]["lock"].startswith(f"refused: locked by {winner}")
    # Refused before its first step: it never even read the revisions, let alone migrated.
    assert not runs[loser].tasks or not any(
        t.task.endswith("DB migration | current and head revisions") for t in runs[loser].tasks
    )
    assert runs[loser].stats["localhost"]["changed"] == 0
    return winner, loser


def audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def holder(owner: str, **more) -> dict:
    now = time.time()
    return {
        "owner": owner,
        "runbook": "incident_redis_memory",
        "environment": ENVIRONMENT,
        "scope": ["database"],
        "run_id": f"{owner}-run",
        "since": "2026-01-01T03:00:00+00:00",
        "expires": now + 3600,
        **more,
    }


def test_redis_lock_two_runs_at_once_one_migrates_then_break_lock_is_audited(
    redis_server_shared, database, tmp_path, stratum_lock_dir
):
    url, connect = database
    client = redis_server_shared.client()
    extra = apply_vars(url, tmp_path, stratum_redis={"url": f"redis://127.0.0.1:{redis_server_shared.port}/0"})

    runs = together(extra, stratum_lock_dir)
    assert_one_winner(runs, connect, f"127.0.0.1:{redis_server_shared.port}/0 {LOCK_KEY}")
    assert not client.exists(LOCK_KEY)
    assert list(stratum_lock_dir.iterdir()) == []  # Redis held it, no lock file
    assert sorted(r["status"] for r in audit(tmp_path)) == ["changed", "failed"]

    # A live lock of someone else (another controller: only the TTL or a human can free it) is broken on request;
    # the report and the audit line name whose it was.
    client.set(LOCK_KEY, json.dumps(holder("ghost", host="other-controller", pid=4242)), ex=600)
    broke = run({**extra, "stratum_break_lock": True}, "carol", stratum_lock_dir)
    assert broke.rc == 0, broke.output[-3000:]
    note = report(broke)["notifications"]["lock"]
    assert "broke the lock of ghost since 2026-01-01T03:00:00+00:00 for incident_redis_memory" in note
    assert note.endswith(", released") and not client.exists(LOCK_KEY)
    last = audit(tmp_path)[-1]
    assert last["user"] == "carol" and "broke the lock of ghost" in last["notifications"]["lock"]
    assert migrated_rows(connect) == ([REVISION], 1)


def test_file_lock_two_runs_at_once_one_migrates_then_stale_locks_are_taken_over(database, tmp_path):
    url, connect = database
    lock_dir = tmp_path / "locks"
    lock_file = lock_dir / f"{ENVIRONMENT}.database.lock"
    extra = apply_vars(url, tmp_path)  # no stratum_redis: a lock file on the controller

    runs = together(extra, lock_dir)
    assert_one_winner(runs, connect, str(lock_file))
    assert not lock_file.exists()

    # A lock whose TTL has passed is stale: taken over, and the report says whose it was. This run's environment has
    # a Redis that does not answer: the lock falls back to the file on the controller, and the report says so.
    lock_file.write_text(json.dumps(holder("ghost", expires=time.time() - 5)))
    dead_redis = {"stratum_redis": {"url": f"redis://127.0.0.1:{free_port()}/0"}}
    expired = run({**extra, **dead_redis}, "carol", lock_dir)
    assert expired.rc == 0, expired.output[-3000:]
    note = report(expired)["notifications"]["lock"]
    fallback = f"held {lock_file} (Redis could not hold it: cannot use the Redis lock: cannot connect to Redis"
    assert note.startswith(fallback), note
    assert "took over the stale lock (expired) of ghost" in note
    assert not lock_file.exists()

    # A lock whose ansible-playbook process on this controller is gone (killed: no always, no release) is stale at once.
    gone = subprocess.Popen(["true"])
    gone.wait()
    lock_file.write_text(json.dumps(holder("dave", host=socket.gethostname(), pid=gone.pid)))
    revived = run(extra, "erin", lock_dir)
    assert revived.rc == 0, revived.output[-3000:]
    note = report(revived)["notifications"]["lock"]
    assert "took over the stale lock (its run is gone) of dave" in note and note.endswith(", released")
    assert not lock_file.exists()
    assert [r["user"] for r in audit(tmp_path)][-2:] == ["carol", "erin"]
    assert migrated_rows(connect) == ([REVISION], 1)
