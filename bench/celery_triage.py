"""Celery backlog triage: the runbook's three `celery inspect` CLI calls against stratum.ops.celery_info.

Four real workers on a throwaway Redis broker, TASKS tasks queued (spread over kombu's priority
lists) to a queue nobody consumes. Prints how long each way takes and what backlog it shows.

    .venv/bin/python bench/celery_triage.py [--tasks 5000] [--workers 4] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_collections.stratum.ops.plugins.module_utils.celery import celery_triage
from harness import servers
from harness.ansible_run import run_module

BACKLOG_QUEUE = "bulk"
PRIORITIES = (0, 3, 6, 9)


def queue_backlog(broker_url: str, tasks: int) -> None:
    """Publish real Celery task messages to the unconsumed queue, a quarter per priority step."""
    from celery import Celery

    app = Celery("bench_publisher", broker=broker_url, set_as_current=False)
    with app.producer_or_acquire() as producer:
        for i in range(tasks):
            app.send_task(
                "stratum_test.add",
                args=(i, i),
                queue=BACKLOG_QUEUE,
                priority=PRIORITIES[i % len(PRIORITIES)],
                producer=producer,
            )
    app.close()


def time_cli(broker_url: str, command: str) -> tuple[float, bool]:
    """One whole `celery inspect <command>` process, as the runbook runs it; does it mention the backlog queue?"""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "celery", "-b", broker_url, "inspect", command],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO / "tests" / "harness")),
        check=False,  # a failing CLI call is a result to report
    )
    return time.perf_counter() - started, BACKLOG_QUEUE in proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20, help="in-process module calls to take the median of")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    with servers.redis_server() as redis, tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
        workers = [
            servers.CeleryWorker(name=f"bench{i}", broker_url=redis.url, queues=["default"], workdir=Path(tmp))
            for i in range(args.workers)
        ]
        try:
            for worker in workers:
                worker.start(wait=False)
            for worker in workers:
                servers.wait_for(worker.ping, 90, f"worker {worker.hostname}")
            queue_backlog(redis.url, args.tasks)
            names = [w.hostname for w in workers]
            base_llen = redis.client().llen(BACKLOG_QUEUE)

            for command in ("active_queues", "stats", "ping"):
                seconds, shows = time_cli(redis.url, command)
                rows.append(
                    (
                        f"celery inspect {command} (CLI process)",
                        f"{seconds * 1000:.0f}",
                        "no" if not shows else "name only",
                        "-",
                    )
                )
            rows.append(("LLEN on the base list only", "-", "partial", str(base_llen)))

            samples, report = [], None
            for _unused in range(args.repeat):
                started = time.perf_counter()
                report = celery_triage(
                    redis.url, 1.0, names, [], 1000, ["ping", "stats", "active_queues", "active", "reserved"]
                )
                samples.append(time.perf_counter() - started)
            # the backlog queue is named explicitly: nobody consumes it, so no worker reports it
            explicit = []
            for _unused in range(args.repeat):
                started = time.perf_counter()
                explicit_report = celery_triage(
                    redis.url,
                    1.0,
                    names,
                    ["default", "celery", BACKLOG_QUEUE],
                    1000,
                    ["ping", "stats", "active_queues", "active", "reserved"],
                )
                explicit.append(time.perf_counter() - started)
            depth = explicit_report["queues"][BACKLOG_QUEUE]["depth"]
            rows.append(
                (
                    "celery_info, module's own time (median, default queues)",
                    f"{statistics.median(samples) * 1000:.1f}",
                    "n/a (bulk unconsumed)",
                    f"{len(report['queues'])} queues",
                )
            )
            rows.append(
                (
                    "celery_info, module's own time (median, queues incl. bulk)",
                    f"{statistics.median(explicit) * 1000:.1f}",
                    "yes" if explicit_report["backlog"] else "no",
                    str(depth),
                )
            )

            started = time.perf_counter()
            result, _unused = run_module(
                "stratum.ops.celery_info",
                {"broker_url": redis.url, "workers": names, "queues": ["default", "celery", BACKLOG_QUEUE]},
            )
            ansible_seconds = time.perf_counter() - started
            rows.append(
                (
                    "celery_info through ansible-playbook (whole run)",
                    f"{ansible_seconds * 1000:.0f}",
                    "yes" if result.get("backlog") else "no",
                    str(result.get("queues", {}).get(BACKLOG_QUEUE, {}).get("depth")),
                )
            )

            stopped = workers[-1]
            stopped.stop()
            started = time.perf_counter()
            degraded = celery_triage(
                redis.url,
                1.0,
                names,
                ["default", BACKLOG_QUEUE],
                1000,
                ["ping", "stats", "active_queues", "active", "reserved"],
            )
            rows.append(
                (
                    f"celery_info, 1 of {args.workers} workers stopped (timeout 1 s)",
                    f"{(time.perf_counter() - started) * 1000:.0f}",
                    "yes" if degraded["backlog"] else "no",
                    f"unresponsive: {', '.join(degraded['unresponsive'])}",
                )
            )
        finally:
            for worker in workers:
                worker.stop()

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{args.workers} workers, {args.tasks} tasks queued to '{BACKLOG_QUEUE}' (nobody consumes it), Redis broker;"
        f" load average {load} on {os.cpu_count()} CPUs (times scale with it)\n"
    )
    widths = [max(len(row[i]) for row in [*rows, HEADER]) for i in range(4)]
    for row in [HEADER, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    exact = depth == args.tasks
    print(f"\nbacklog exact: {'yes' if exact else 'NO'} ({depth} of {args.tasks}); target module time <= 50 ms")
    if not exact:
        sys.exit(1)


HEADER = ("method", "ms", "shows backlog", "depth / detail")

if __name__ == "__main__":
    main()
