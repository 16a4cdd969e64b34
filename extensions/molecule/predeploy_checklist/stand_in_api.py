"""A stand-in API for the predeploy_checklist scenario: 200 on /health, /health/ready, /health/live, /metrics.

python stand_in_api.py start --state FILE     # detaches, writes {"pid", "port", "url"}
python stand_in_api.py stop --state FILE
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        ok = path in ("/health", "/health/ready", "/health/live", "/health/detailed", "/metrics")
        body = b"# HELP up 1\nup 1\n" if path == "/metrics" else b'{"status": "ok"}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def start(state: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if os.fork():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(state):
            time.sleep(0.05)
        return
    os.setsid()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with open(state, "w") as fh:
        json.dump({"pid": os.getpid(), "port": port, "url": f"http://127.0.0.1:{port}"}, fh)
    server.serve_forever()


def stop(state: str) -> None:
    if os.path.exists(state):
        with open(state) as fh:
            pid = json.load(fh)["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.unlink(state)


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]](sys.argv[3])
