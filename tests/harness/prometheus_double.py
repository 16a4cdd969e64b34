"""TEST DOUBLE of Prometheus's HTTP query API (/api/v1/query), for runbook roles that read metrics.

A test gives it a function from the PromQL text to the samples to answer, `[(labels, value), ...]`; the
double records every query it was asked, so a test can assert on the PromQL the role sent. It also serves
GET /ok (200), so a test has an HTTP dependency that answers.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Samples = list[tuple[dict[str, str], float]]


class PrometheusDouble:
    """Answers each query with an instant vector built from answer(query); `with` stops it."""

    def __init__(self, answer: Callable[[str], Samples]):
        self.queries: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(200 if self.path == "/ok" else 404, {"status": "ok"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                query = urllib.parse.parse_qs(self.rfile.read(length).decode())["query"][0]
                double.queries.append(query)
                result = [{"metric": labels, "value": [0, str(value)]} for labels, value in answer(query)]
                self._send(200, {"status": "success", "data": {"resultType": "vector", "result": result}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> PrometheusDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
