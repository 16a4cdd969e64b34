"""Alert to triage report: how long from a condition starting to the triage report existing, through the real
chain (Prometheus 1 s scrape/evaluation with `for: 5s` -> Alertmanager -> stratum.ops.alertmanager ->
ansible-rulebook -> the triage playbook -> its audit line), beside the same playbook run by hand on the same
stack (the baseline: what a person typing ansible-playbook the moment they are paged would wait for).

    .venv/bin/python bench/alert_to_report.py

The stack is tests/integration/eda/eda_stack.py, the one the end-to-end test uses. Target: <= 30 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "eda"))

from eda_stack import BIN, alert_stack
from harness import servers

TARGET_S = 30.0


def by_hand(stack, runbook: str) -> float:
    """The same triage run directly with ansible-playbook and the same inventory and environment."""
    env = {**stack.rulebook.env, "STRATUM_LOCAL_AUDIT_LOG": str(stack.workdir / "by-hand.jsonl")}
    started = time.monotonic()
    subprocess.run(
        [BIN / "ansible-playbook", "-i", REPO / "inventories/local", REPO / "playbooks" / f"{runbook}.yml"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def main() -> None:
    rows = []
    with servers.moto_server() as moto, alert_stack(moto) as stack:
        servers.wait_for(lambda: len(stack.api.log_lines()) > 10, 30, "API traffic")
        cases = [
            (
                "HighErrorRate",
                "incident_high_error_rate",
                lambda: stack.api.faults({"endpoint": "/api/v1/messages", "status": 503, "ratio": 1.0}),
            ),
            ("RedisMemoryHigh", "incident_redis_memory", lambda: stack.fill_redis(0.85)),
        ]
        for alert, runbook, start_condition in cases:
            started = time.monotonic()
            start_condition()
            stack.wait_for_report(runbook, timeout=300)
            chain = time.monotonic() - started
            rows.append((alert, chain, by_hand(stack, runbook)))
        load = os.getloadavg()[0]

    header = ("alert", "condition -> report (s)", "baseline: playbook by hand (s)", "chain overhead (s)", "target")
    table = [header] + [
        (
            alert,
            f"{chain:.1f}",
            f"{hand:.1f}",
            f"{chain - hand:.1f}",
            f"<= {TARGET_S:.0f} s {'ok' if chain <= TARGET_S else 'MISSED'}",
        )
        for alert, chain, hand in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    print(f"\n1-minute load average during the run: {load:.1f} (the playbook's share grows with it)")


if __name__ == "__main__":
    main()
