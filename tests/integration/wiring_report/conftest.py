"""A real HTTP webhook listener (stdlib http.server in a thread) standing in for Slack's incoming webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "extensions" / "schemas" / "stratum_report.schema.json"


class WebhookListener:
    """Records every POST body; answers `status` (200 unless a test wants Slack to fail)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.paths.append(self.path)
                listener.messages.append(json.loads(body or b"{}"))
                self.send_response(listener.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/{token}"

    def __enter__(self) -> WebhookListener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookListener]:
    with WebhookListener() as listener:
        yield listener


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())
