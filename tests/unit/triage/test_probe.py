"""Dependency probes on real local sockets: TCP connect and HTTP answers, with latency; failures reported."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.probe import probe, split_host_port


class NotFound(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(404 if self.path == "/missing" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tcp_connect_up_and_down_with_latency():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        up = probe({"name": "redis", "tcp": f"127.0.0.1:{listening.getsockname()[1]}"}, 2)
    assert (up["up"], up["status"], up["kind"]) == (True, "connected", "tcp") and up["latency_ms"] >= 0
    down = probe({"name": "redis", "tcp": f"127.0.0.1:{free_port()}"}, 2)
    assert down["up"] is False and down["error"] and down["status"] is None


def test_http_answer_below_500_is_up_and_5xx_is_down():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert probe({"name": "meta", "url": f"{base}/missing"}, 2) | {"latency_ms": 0} == {
            "name": "meta",
            "kind": "http",
            "target": f"{base}/missing",
            "up": True,
            "status": 404,
            "latency_ms": 0,
            "error": None,
        }
        failing = probe({"name": "meta", "url": f"{base}/broken"}, 2)
        assert (failing["up"], failing["status"]) == (False, 503)
    finally:
        server.shutdown()
        server.server_close()


def test_bad_tcp_target_is_refused():
    with pytest.raises(ValueError, match="host:port"):
        split_host_port("redis.internal")
    assert split_host_port("[::1]:6379") == ("::1", 6379)
