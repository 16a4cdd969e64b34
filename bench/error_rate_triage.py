"""Error-rate triage wall time beside a bare one-task `ansible-playbook`, on the same machine in the same run.

The triage playbook (playbooks/incident_high_error_rate.yml, triage only) runs on Compose (the docker CLI
double) against the sandbox API with a real Prometheus scraping it every second, so every section does real
work: the Prometheus queries, `docker compose logs`, the deploy record, the dependency probe. The baseline is
one `ansible.builtin.debug` task through the same harness. Target: triage at most 2x the baseline.

    .venv/bin/python bench/error_rate_triage.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "compose"))

from compose_platform import services, start_project
from harness.ansible_run import run_playbook
from harness.prometheus import prometheus_server, sandbox_api

TARGET_RATIO = 2.0


def timed(playbook: Path, extra_vars: dict, env: dict) -> float:
    started = time.perf_counter()
    run = run_playbook(playbook, extra_vars=extra_vars, env=env)
    seconds = time.perf_counter() - started
    if run.rc != 0:
        raise SystemExit(f"{playbook.name} failed:\n{run.output[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each playbook; the median is compared")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-triage-") as tmp:
        tmp_path = Path(tmp)
        compose = start_project(tmp_path, {"api.env": "LOG_LEVEL=info\n"})
        api_args = ["--compose-state", str(compose.state_file), "--compose-project", str(compose.dir)]
        with sandbox_api(api_args) as api, prometheus_server([api.target]) as prom:
            prom.wait_for_samples("api_requests_total", count=3)
            api.faults({"endpoint": "/api/v1/messages", "status": 503, "ratio": 1.0})
            env = {**compose.env, "STRATUM_DOCKER_DOUBLE_LOGS": str(api.workdir)}
            triage_vars = {
                "stratum_platform": "compose",
                "stratum_services": services(str(compose.dir)),
                "incident_high_error_rate_prometheus_url": prom.url,
                "incident_high_error_rate_dependencies": [{"name": "api", "url": f"{api.url}/health"}],
            }
            bare = tmp_path / "bare.yml"
            bare.write_text(
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                "    - name: One task\n      ansible.builtin.debug:\n        msg: hello\n"
            )
            baseline = [timed(bare, {}, env) for _r in range(args.repeat)]
            triage = [
                timed(REPO / "playbooks" / "incident_high_error_rate.yml", triage_vars, env)
                for _r in range(args.repeat)
            ]

    base, tri = statistics.median(baseline), statistics.median(triage)
    ratio = tri / base
    rows = [
        ("bare one-task ansible-playbook", base, min(baseline), 1.0),
        ("error-rate triage playbook", tri, min(triage), ratio),
    ]
    print(f"{'run':40} {'median s':>9} {'best s':>8} {'x bare':>7}")
    for name, median, best, times in rows:
        print(f"{name:40} {median:9.2f} {best:8.2f} {times:7.2f}")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"triage / bare = {ratio:.2f} ({verdict} the {TARGET_RATIO:g}x target), {args.repeat} runs each")


if __name__ == "__main__":
    main()
