"""The action groups in meta/runtime.yml: connection options set once with module_defaults reach every module."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from harness.ansible_run import run_playbook


def test_group_module_defaults_set_the_connection_once(redis_server):
    client = redis_server.client()
    client.rpush("jobs", "a", "b", "c")
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {
            "group/stratum.ops.redis": {"host": "127.0.0.1", "port": redis_server.port, "connect_timeout": 2},
            "group/stratum.ops.celery": {"broker_url": redis_server.url, "timeout": 0.5},
        },
        "tasks": [
            {"name": "flag", "stratum.ops.redis_flag": {"key": "pause:sync", "ttl": 60}},
            {"name": "keys", "stratum.ops.redis_key_info": {"keys": ["jobs", "pause:sync"]}},
            {"name": "celery", "stratum.ops.celery_info": {"queues": ["jobs"]}},
        ],
    }
    with tempfile.TemporaryDirectory(prefix="stratum-defaults-") as tmp:
        playbook = Path(tmp) / "defaults.yml"
        playbook.write_text(json.dumps([play]))
        run = run_playbook(playbook)
    assert run.task("flag").status == "changed", run.task("flag").result
    assert client.get("pause:sync") == b"true"
    assert [k["length"] for k in run.task("keys")["key_info"]] == [3, 4]
    assert run.task("celery")["queues"]["jobs"]["depth"] == 3
