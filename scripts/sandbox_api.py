"""SANDBOX STAND-IN for the stratum-api HTTP service — for `make demo`, molecule and tests only.

It serves the endpoints the runbooks and roles look at (/health, /health/ready, /health/live,
/health/detailed, /metrics and one API call, /api/v1/status) and reports the version the platform
currently runs, read on every request from one of:

- ECS (moto or AWS):        --ecs-cluster C --ecs-service S --ecs-container api   (AWS_* env for the endpoint)
- Kubernetes (the double):  --k8s-url URL --k8s-token T --k8s-namespace N --k8s-deployment D --k8s-container api
- Compose (the fake docker): --compose-state FILE --compose-project DIR --compose-service api
- a file holding the tag:   --version-file PATH

It can be told to fail a version: when the running version equals STRATUM_SANDBOX_FAIL_VERSION (or the
`fail_version` key of the JSON --control file, read on every request) /health/detailed and /health/ready
answer 503. --database-url / --redis-url (or DATABASE_URL / REDIS_URL) add real connection checks.

    python scripts/sandbox_api.py --port 8000 --ecs-cluster stratum-local --ecs-service stratum-api
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def image_tag(image: str) -> str:
    """The tag of an image reference ('' when it has none)."""
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


class VersionSource:
    """Where the running version comes from (the platform, read on each request)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._ecs = None

    def _ecs_client(self):
        if self._ecs is None:
            import boto3

            self._ecs = boto3.client(
                "ecs",
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            )
        return self._ecs

    def current(self) -> str:
        args = self.args
        if args.ecs_cluster:
            client = self._ecs_client()
            service = client.describe_services(cluster=args.ecs_cluster, services=[args.ecs_service])["services"][0]
            definition = client.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
            containers = definition["containerDefinitions"]
            chosen = [c for c in containers if c["name"] == args.ecs_container] or containers
            return image_tag(chosen[0]["image"])
        if args.k8s_url:
            path = f"/apis/apps/v1/namespaces/{args.k8s_namespace}/deployments/{args.k8s_deployment}"
            req = urllib.request.Request(args.k8s_url.rstrip("/") + path)
            if args.k8s_token:
                req.add_header("Authorization", f"Bearer {args.k8s_token}")
            with urllib.request.urlopen(req, timeout=5) as resp:
                deployment = json.loads(resp.read())
            containers = deployment["spec"]["template"]["spec"]["containers"]
            chosen = [c for c in containers if c["name"] == args.k8s_container] or containers
            return image_tag(chosen[0]["image"])
        if args.compose_state:
            projects = json.loads(Path(args.compose_state).read_text())["projects"]
            containers = projects.get(args.compose_project, {}).get("containers", [])
            images = [c["image"] for c in containers if c.get("service") == args.compose_service]
            return image_tag(images[0]) if images else ""
        if args.version_file:
            text = Path(args.version_file).read_text().strip()
            return image_tag(text) if ":" in text else text
        return args.version or "unknown"


class SandboxState:
    """Request counters, start time and the failure switch."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source = VersionSource(args)
        self.started = time.time()
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()

    def fail_version(self) -> str:
        if self.args.control:
            with contextlib.suppress(OSError, ValueError):
                value = json.loads(Path(self.args.control).read_text()).get("fail_version")
                if value is not None:
                    return str(value)
        return os.environ.get("STRATUM_SANDBOX_FAIL_VERSION", "")

    def count(self, path: str) -> None:
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def checks(self) -> dict[str, dict[str, Any]]:
        """Real connection checks for the configured dependencies."""
        results: dict[str, dict[str, Any]] = {}
        database_url = self.args.database_url or os.environ.get("DATABASE_URL", "")
        if database_url:
            try:
                import psycopg2

                psycopg2.connect(database_url, connect_timeout=3).close()
                results["database"] = {"status": "ok"}
            except Exception as exc:
                results["database"] = {"status": "error", "error": type(exc).__name__}
        redis_url = self.args.redis_url or os.environ.get("REDIS_URL", "")
        if redis_url:
            try:
                import redis

                redis.Redis.from_url(redis_url, socket_timeout=3).ping()
                results["redis"] = {"status": "ok"}
            except Exception as exc:
                results["redis"] = {"status": "error", "error": type(exc).__name__}
        return results


def make_handler(state: SandboxState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "stratum-api-sandbox/1"

        def log_message(self, format: str, *args: Any) -> None:
            if state.args.verbose:
                super().log_message(format, *args)

        def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            state.count(path)
            try:
                version = state.source.current()
            except Exception as exc:
                self._send(503, {"status": "unhealthy", "error": f"cannot read the running version: {exc}"})
                return
            failing = bool(version) and version == state.fail_version()
            if path == "/health":
                self._send(200, {"status": "ok", "version": version})
            elif path == "/health/live":
                self._send(200, {"status": "alive"})
            elif path == "/health/ready":
                self._send(503 if failing else 200, {"status": "not ready" if failing else "ready"})
            elif path == "/health/detailed":
                checks = state.checks()
                if failing:
                    checks["application"] = {"status": "error", "error": f"version {version} fails its health checks"}
                healthy = all(c["status"] == "ok" for c in checks.values())
                body = {"status": "healthy" if healthy else "unhealthy", "version": version, "checks": checks}
                self._send(200 if healthy else 503, body)
            elif path == "/metrics":
                lines = [
                    "# HELP stratum_up Whether the stand-in API is up.",
                    "# TYPE stratum_up gauge",
                    "stratum_up 1",
                    f'stratum_build_info{{version="{version}"}} 1',
                    "# TYPE stratum_http_requests_total counter",
                ]
                lines += [f'stratum_http_requests_total{{path="{p}"}} {n}' for p, n in sorted(state.requests.items())]
                self._send(200, "\n".join(lines) + "\n", "text/plain; version=0.0.4")
            elif path == "/api/v1/status":
                uptime = int(time.time() - state.started)
                self._send(200, {"service": "stratum-api", "version": version, "uptime": uptime})
            else:
                self._send(404, {"error": f"no route {path}"})

    return Handler


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--ecs-cluster", default="")
    parser.add_argument("--ecs-service", default="stratum-api")
    parser.add_argument("--ecs-container", default="api")
    parser.add_argument("--k8s-url", default="")
    parser.add_argument("--k8s-token", default="")
    parser.add_argument("--k8s-namespace", default="production")
    parser.add_argument("--k8s-deployment", default="stratum-api")
    parser.add_argument("--k8s-container", default="api")
    parser.add_argument("--compose-state", default="", help="state file of tests/compose_double/docker")
    parser.add_argument("--compose-project", default="")
    parser.add_argument("--compose-service", default="api")
    parser.add_argument("--version-file", default="")
    parser.add_argument("--version", default="", help="a fixed version when no platform source is given")
    parser.add_argument("--control", default="", help='JSON file read on each request: {"fail_version": ...}')
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(SandboxState(args)))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
