"""A stand-in API for the checklist's HTTP checks: stdlib http.server on a free port, in a thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@contextlib.contextmanager
def stand_in_api(failing: dict[str, int] | None = None) -> Iterator[str]:
    """Serve 200 on /health, /health/ready, /health/live, /metrics (or the status in `failing`); yield the base URL."""
    failing = dict(failing or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            known = path in ("/health", "/health/ready", "/health/live", "/metrics")
            status = failing.get(path, 200 if known else 404)
            body = b"# HELP up 1\nup 1\n" if path == "/metrics" else b'{"status": "ok"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def healthy_api():
    with stand_in_api() as url:
        yield url


@pytest.fixture(scope="module")
def not_ready_api():
    with stand_in_api({"/health/ready": 503}) as url:
        yield url
