"""incident_db_connections adds the API's connection-related log lines (Compose logs through the docker double)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from harness.ansible_run import run_playbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compose"))
from compose_platform import services, start_project

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "incident_db_connections.yml"


def test_triage_lists_the_connection_errors_from_the_api_logs(postgres_server, tmp_path):
    compose = start_project(tmp_path, {"api.env": "LOG_LEVEL=info\n"})
    logs = tmp_path / "logs"
    logs.mkdir()
    now = datetime.now(UTC).isoformat()
    messages = [
        "ok",
        "QueuePool limit of size 5 overflow 10 reached, connection timed out",
        "ok",
        "FATAL: too many clients",
    ]
    lines = [json.dumps({"ts": now, "level": "ERROR" if m != "ok" else "INFO", "message": m}) for m in messages]
    (logs / "api.log").write_text("\n".join(lines) + "\n")
    server = postgres_server
    run = run_playbook(
        PLAYBOOK,
        extra_vars={
            "stratum_postgres": {
                "host": server.host,
                "port": server.port,
                "user": server.user,
                "database": server.database,
            },
            "stratum_platform": "compose",
            "stratum_services": services(str(compose.dir)),
        },
        env={**compose.env, "PGPASSWORD": server.password, "STRATUM_DOCKER_DOUBLE_LOGS": str(logs)},
    )
    assert run.rc == 0, run.output[-3000:]
    found = run.custom_stats["_run"]["incident_db_connections_report"]["connection_log_lines"]
    assert found["error"] is None and found["lines_read"] == 4
    assert [line["message"] for line in found["lines"]] == [messages[1], messages[3]]
