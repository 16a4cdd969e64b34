"""Helpers for the Redis module tests: several module calls in one ansible-playbook run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from harness.ansible_run import TaskResult, run_playbook


def _run_cases(module: str, cases: list[dict], check: bool = False) -> list[TaskResult]:
    """Run one task per args dict (failures ignored) in a single playbook; return results in order."""
    with tempfile.TemporaryDirectory(prefix="stratum-redis-cases-") as tmp:
        playbook = Path(tmp) / "cases.yml"
        tasks = [
            {"name": f"case {i}", module: args, "ignore_errors": True, "check_mode": check}
            for i, args in enumerate(cases)
        ]
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        run = run_playbook(playbook)
    results = []
    for i in range(len(cases)):
        task = run.task(f"case {i}")
        # An ignored failure is still the module's failure; tests assert on it as such.
        status = "failed" if task.status == "ignored" else task.status
        results.append(TaskResult(status, task.task, task.action, task.result))
    return results


@pytest.fixture
def run_cases():
    return _run_cases
