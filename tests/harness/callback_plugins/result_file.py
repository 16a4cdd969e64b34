# Test-only callback: append every task result as one JSON line to $STRATUM_RESULT_FILE, so tests
# read structured results while stdout keeps the normal (or -vvv) human output to grep.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_file
type: aggregate
short_description: write task results as JSON lines for stratum.ops tests
description: Test harness only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_file"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, status: str, result) -> None:
        path = os.environ.get("STRATUM_RESULT_FILE")
        if not path:
            return
        record = {
            "status": status,
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "result": result._result,
        }
        with open(path, "a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def v2_runner_on_ok(self, result) -> None:
        self._write("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._write("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result) -> None:
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result) -> None:
        self._write("unreachable", result)

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("STRATUM_RESULT_FILE")
        if not path:
            return
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        with open(path, "a") as fh:
            fh.write(json.dumps({"status": "stats", "stats": summary, "custom": stats.custom}, default=str) + "\n")
