"""log_cleanup role through ansible-playbook, on real files in a temp dir (and S3 on the moto server)."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest
from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "log_cleanup.yml"
DAY = 86400


def make_log(path: Path, days_old: float, content: bytes = b"line\n" * 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(content))
    else:
        path.write_bytes(content)
    stamp = time.time() - days_old * DAY
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def logdir(tmp_path):
    root = tmp_path / "stratum"
    make_log(root / "api.log", 1)
    make_log(root / "api-old.log", 10)
    make_log(root / "workers" / "worker-old.log", 12)
    make_log(root / "api-ancient.log.gz", 40)
    make_log(root / "api-recent.log.gz", 20)
    make_log(root / "notes.txt", 90)
    return root


def play(logdir: Path, check: bool = False, env: dict | None = None, **extra):
    extra_vars = {"log_cleanup_path": str(logdir), **extra}
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, env=env)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, int(p.stat().st_mtime)) for p in root.rglob("*") if p.is_file()
    }


def test_triage_reports_what_is_due_and_changes_nothing(logdir):
    before = snapshot(logdir)
    run = play(logdir)
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["log_cleanup_report"]
    assert report["to_compress"]["files"] == 2
    assert report["to_delete"]["files"] == 1
    assert report["to_compress"]["bytes"] == 1000
    assert 0 <= report["disk"]["used_pct"] <= 100
    assert snapshot(logdir) == before
    assert not [t for t in run.tasks if t.changed]


def test_check_mode_with_actions_changes_nothing(logdir):
    before = snapshot(logdir)
    run = play(logdir, check=True, log_cleanup_actions=["compress", "delete"])
    assert run.rc == 0, run.output[-3000:]
    assert snapshot(logdir) == before
    # It still says what it would do.
    assert run.task("Log cleanup | compress old logs").changed
    assert run.task("Log cleanup | delete old compressed logs").changed


def test_compress_and_delete_then_second_run_changes_nothing(logdir):
    old_mtime = int((logdir / "api-old.log").stat().st_mtime)
    run = play(logdir, log_cleanup_actions=["compress", "delete"])
    assert run.rc == 0, run.output[-3000:]
    files = set(snapshot(logdir))
    assert files == {
        "api.log",
        "api-old.log.gz",
        "workers/worker-old.log.gz",
        "api-recent.log.gz",
        "notes.txt",
    }
    assert gzip.decompress((logdir / "api-old.log.gz").read_bytes()) == b"line\n" * 100
    assert int((logdir / "api-old.log.gz").stat().st_mtime) == old_mtime
    report = run.custom_stats["_run"]["log_cleanup_report"]
    assert report["compressed"] == 2
    assert report["deleted"] == 1

    again = play(logdir, log_cleanup_actions=["compress", "delete"])
    assert again.rc == 0, again.output[-3000:]
    assert [t.task for t in again.tasks if t.changed] == []
    assert set(snapshot(logdir)) == files


def test_archive_syncs_logs_to_s3(logdir, moto):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="stratum-logs")
    aws = {"region": moto.region, "endpoint_url": moto.endpoint_url}
    run = play(
        logdir, log_cleanup_actions=["archive"], log_cleanup_s3_bucket="stratum-logs", log_cleanup_aws=aws, env=moto.env
    )
    assert run.rc == 0, run.output[-3000:]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="stratum-logs")["Contents"]}
    day = time.strftime("%Y/%m/%d")
    assert f"archive/{day}/api.log" in keys
    assert f"archive/{day}/workers/worker-old.log" in keys
    again = play(
        logdir, log_cleanup_actions=["archive"], log_cleanup_s3_bucket="stratum-logs", log_cleanup_aws=aws, env=moto.env
    )
    assert not again.task("Log cleanup | archive the log directory to S3").changed


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"log_cleanup_actions": ["flush_everything"]}, "log_cleanup_actions"),
        # caught before the first step: the preflight names the inventory variable to set
        ({"log_cleanup_actions": ["archive"]}, "log_archive: set stratum_logs.archive_bucket"),
        ({"log_cleanup_delete_after_days": 3}, "deleted only after they are compressed"),
    ],
)
def test_bad_input_fails_before_anything_changes(logdir, extra, fragment):
    before = snapshot(logdir)
    run = play(logdir, **extra)
    assert run.rc != 0
    failed = run.failed_tasks()
    assert failed and fragment in failed[0]["msg"]
    assert snapshot(logdir) == before


def test_missing_directory_is_a_clear_failure(tmp_path):
    run = play(tmp_path / "nope")
    assert run.rc != 0
    assert "is not a directory" in run.failed_tasks()[0]["msg"]
