"""Start and stop throwaway backends outside pytest (molecule scenarios, `make demo`).

    python tests/harness/sandbox.py start redis --state /tmp/x/redis.json
    python tests/harness/sandbox.py stop --state /tmp/x/redis.json

`start` leaves the server running in its own session and writes a JSON state file with its
connection details (port, url, password, endpoint...); `stop` ends it and removes its temp dir.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import servers


def start(kind: str) -> dict:
    """Start one backend of this kind and return its state (it keeps running after we exit)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"stratum-sandbox-{kind}-"))
    if kind == "redis":
        server = servers.RedisServer(port=servers.free_port(), workdir=workdir).start()
        state = {"port": server.port, "host": server.host, "url": server.url}
    elif kind == "postgres":
        server = servers.PostgresServer(port=servers.free_port(), workdir=workdir).start()
        state = {
            "port": server.port,
            "host": server.host,
            "user": server.user,
            "password": server.password,
            "database": server.database,
            "url": server.url,
        }
    elif kind == "moto":
        server = servers.MotoServer(port=servers.free_port(), workdir=workdir).start()
        state = {"port": server.port, "endpoint_url": server.endpoint_url, "region": server.region, "env": server.env}
    elif kind == "rabbitmq":
        server = servers.RabbitMQServer(port=servers.free_port(), workdir=workdir).start()
        state = {"port": server.port, "url": server.url, "epmd_port": server.epmd_port}
    else:
        raise SystemExit(f"unknown backend {kind!r}: redis, postgres, moto or rabbitmq")
    state.update(kind=kind, pid=server.proc.pid, workdir=str(workdir))
    return state


def stop(state: dict) -> None:
    """Stop the backend described by a state file and remove its temp dir."""
    pid = state.get("pid")
    if pid:
        # SIGINT is a fast, clean shutdown for PostgreSQL and a normal stop for the others.
        sig = signal.SIGINT if state.get("kind") == "postgres" else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    if state.get("kind") == "rabbitmq" and state.get("epmd_port"):
        servers.stop_epmd(int(state["epmd_port"]))
    shutil.rmtree(state.get("workdir", ""), ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("kind", nargs="?", help="redis | postgres | moto | rabbitmq (start only)")
    parser.add_argument("--state", required=True, help="JSON state file to write (start) or read (stop)")
    args = parser.parse_args()
    state_path = Path(args.state)
    if args.command == "start":
        state = start(args.kind)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(state, indent=2))
        json.dump(state, sys.stdout)
        sys.stdout.write("\n")
    elif state_path.exists():
        stop(json.loads(state_path.read_text()))
        state_path.unlink()


if __name__ == "__main__":
    main()
