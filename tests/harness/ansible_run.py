"""Run modules and playbooks through Ansible itself, the way users run them, and parse the result.

`run_module("stratum.ops.redis_cleanup", {...}, check=True, verbosity=3)` writes a one-task playbook,
runs `ansible-playbook` on localhost with the venv's Python, and returns the task's JSON result
plus the full stdout (so tests can grep a `-vvv` run for secrets).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"
TEST_INVENTORY = Path(__file__).resolve().parent / "inventory"


@dataclass
class TaskResult:
    status: str
    task: str
    action: str
    result: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    def __getitem__(self, key: str) -> Any:
        return self.result[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.result.get(key, default)


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    tasks: list[TaskResult] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    custom_stats: dict[str, Any] = field(default_factory=dict)
    # -vvv runs only: every task result as the callbacks saw it, module arguments ("invocation") included.
    results_text: str = ""

    @property
    def output(self) -> str:
        """Everything the run printed, stdout and stderr; in -vvv runs also every task result with its arguments."""
        return (self.results_text + "\n" if self.results_text else "") + self.stdout + "\n" + self.stderr

    def task(self, name: str) -> TaskResult:
        """The last result of the task with this name, with or without its "role : " prefix."""
        matches = [t for t in self.tasks if t.task == name or t.task.endswith(" : " + name)]
        assert matches, f"task {name!r} did not run; ran: {[t.task for t in self.tasks]}\n{self.output[-3000:]}"
        return matches[-1]

    def failed_tasks(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.status == "failed"]


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for an ansible-playbook child: this checkout as stratum.ops, test callback on."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=venv_bin + os.pathsep + env.get("PATH", ""),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="result_file",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_LOCAL_TEMP=tempfile.gettempdir(),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_DEPRECATION_WARNINGS="False",
    )
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str | Path,
    *,
    inventory: str | Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    env: dict[str, str] | None = None,
    tags: list[str] | None = None,
    timeout: float = 600,
    cwd: str | Path | None = None,
) -> PlaybookRun:
    """Run ansible-playbook and return every task result, the stats and the text output."""
    with tempfile.TemporaryDirectory(prefix="stratum-run-") as tmp:
        result_file = Path(tmp) / "results.jsonl"
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
        if inventory is None:
            # localhost as a stratum inventory without endpoints (playbooks check for one first)
            cmd += ["-i", str(TEST_INVENTORY)]
        else:
            cmd += ["-i", str(inventory)]
        if extra_vars:
            vars_file = Path(tmp) / "extra_vars.json"
            vars_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", f"@{vars_file}"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if tags:
            cmd += ["--tags", ",".join(tags)]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        # ansible-core 2.21 stopped printing module arguments at -vvv; have them injected into every result so a
        # secret grep of a -vvv run also covers arguments that should have been no_log.
        extra_env = {"STRATUM_RESULT_FILE": str(result_file)}
        if verbosity >= 3:
            extra_env["ANSIBLE_INJECT_INVOCATION"] = "True"
        proc = subprocess.run(
            cmd,
            env=ansible_env({**extra_env, **(env or {})}),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(cwd or REPO),
            check=False,  # a failing play is a result to inspect, not an error
        )
        run = PlaybookRun(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
        if result_file.exists():
            if verbosity >= 3:
                run.results_text = result_file.read_text()
            for line in result_file.read_text().splitlines():
                record = json.loads(line)
                if record["status"] == "stats":
                    run.stats = record["stats"]
                    run.custom_stats = record.get("custom") or {}
                else:
                    run.tasks.append(TaskResult(record["status"], record["task"], record["action"], record["result"]))
        return run


def run_module(
    module: str,
    args: dict[str, Any] | None = None,
    *,
    check: bool = False,
    verbosity: int = 0,
    env: dict[str, str] | None = None,
    task_vars: dict[str, Any] | None = None,
    timeout: float = 600,
) -> tuple[TaskResult, PlaybookRun]:
    """Run one module task on localhost through ansible-playbook; return its result and the run."""
    with tempfile.TemporaryDirectory(prefix="stratum-mod-") as tmp:
        playbook = Path(tmp) / "module.yml"
        play = [
            {
                "name": "stratum.ops test",
                "hosts": "localhost",
                "gather_facts": False,
                "vars": task_vars or {},
                "tasks": [{"name": "module under test", module: args or {}}],
            }
        ]
        playbook.write_text(json.dumps(play))
        run = run_playbook(playbook, check=check, verbosity=verbosity, env=env, timeout=timeout)
    matches = [t for t in run.tasks if t.task == "module under test"]
    assert matches, f"module {module} produced no task result (rc={run.rc}):\n{run.output[-4000:]}"
    return matches[-1], run


def assert_clean_failure(result: TaskResult, *fragments: str) -> None:
    """The task failed with a readable msg containing every fragment and no Python traceback."""
    assert result.failed, f"expected failure, got {result.status}: {result.result}"
    msg = str(result.get("msg", ""))
    for fragment in fragments:
        assert fragment.lower() in msg.lower(), f"{fragment!r} not in msg: {msg!r}"
    assert "Traceback (most recent call last)" not in msg, msg
    assert "MODULE FAILURE" not in msg, msg
    assert "module_stderr" not in result.result or "Traceback" not in str(result.result["module_stderr"])
