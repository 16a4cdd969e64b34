"""SANDBOX STAND-IN for the stratum-api HTTP service — for `make demo`, molecule and tests only.

It serves the endpoints the runbooks and roles look at (/health, /health/ready, /health/live,
/health/detailed, /metrics) and a few API calls (/api/v1/messages, /api/v1/contacts, /api/v1/status,
/api/v1/integrations/<platform>/send), and reports the version the platform currently runs, read on
every request from one of:

- ECS (moto or AWS):        --ecs-cluster C --ecs-service S --ecs-container api   (AWS_* env for the endpoint)
- Kubernetes (the double):  --k8s-url URL --k8s-token T --k8s-namespace N --k8s-deployment D --k8s-container api
- Compose (the fake docker): --compose-state FILE --compose-project DIR --compose-service api
- a file holding the tag:   --version-file PATH

It can be told to fail a version: when the running version equals STRATUM_SANDBOX_FAIL_VERSION (or the
`fail_version` key of the JSON --control file, read on every request) /health/detailed and /health/ready
answer 503, and the API calls fail with 500 and ERROR log lines. --database-url / --redis-url (or
DATABASE_URL / REDIS_URL) add real connection checks.

Runbook metrics (prometheus_client, on /metrics): api_requests_total{endpoint,method,status_code},
api_request_duration_seconds, integration_rate_limit_usage{platform} (0..1), stratum_build_info{version}.
A background thread calls the API a few times per second, so rates exist without a load generator
(--traffic-interval 0 turns it off). Every API call logs one JSON line (ts, level, endpoint, method,
status_code, tenant_id, message; integration calls add event=rate_limit, platform, usage) to --log-file
(default stdout) and, with --cloudwatch-log-group, to CloudWatch Logs (moto or AWS) like the awslogs driver.

Faults at run time, POST /_sandbox/faults (GET shows the current ones):
    {"endpoint": "/api/v1/messages", "status": 503, "ratio": 1.0}    that endpoint fails, ERROR lines
    {"rate_limit": {"platform": "meta", "usage": 0.93, "tenant_id": "t-42", "lines": 50}}
                                                       usage gauge set; that tenant's rate_limit lines dominate
                                                       (lines: write that many at once)
    {"clear": true}                                    back to normal

    python scripts/sandbox_api.py --port 8000 --ecs-cluster stratum-local --ecs-service stratum-api
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

API_ENDPOINTS = ("/api/v1/messages", "/api/v1/contacts", "/api/v1/status")
INTEGRATION_PLATFORMS = ("meta", "google", "tiktok")
TENANTS = tuple(f"t-{n}" for n in range(1, 9))
# How often a faulted tenant is the caller of an integration call (the rest spread over TENANTS).
HOT_TENANT_SHARE = 0.8


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


class LogSink:
    """JSON log lines to a file (or stdout) and, when configured, to CloudWatch Logs."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.lock = threading.Lock()
        self.stream: IO[str] = open(args.log_file, "a", encoding="utf-8") if args.log_file else sys.stdout  # noqa: SIM115
        self.pending: list[dict[str, Any]] = []
        self._logs = None

    def write(self, **fields: Any) -> None:
        now = time.time()
        record = {"ts": datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps(record, sort_keys=False)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()
            if self.args.cloudwatch_log_group:
                self.pending.append({"timestamp": int(now * 1000), "message": line})

    def _client(self):
        if self._logs is None:
            import boto3

            self._logs = boto3.client(
                "logs",
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            )
            group, stream = self.args.cloudwatch_log_group, self.args.cloudwatch_log_stream
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_group(logGroupName=group)
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
        return self._logs

    def flush_cloudwatch(self) -> None:
        """Ship the buffered lines (the awslogs driver does this every few seconds; we do it every second)."""
        with self.lock:
            batch, self.pending = self.pending, []
        if batch:
            self._client().put_log_events(
                logGroupName=self.args.cloudwatch_log_group,
                logStreamName=self.args.cloudwatch_log_stream,
                logEvents=batch,
            )


class SandboxState:
    """Metrics, faults, the failure switch and the log sink of one sandbox API."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source = VersionSource(args)
        self.started = time.time()
        self.lock = threading.Lock()
        self.log = LogSink(args)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "api_requests",
            "API requests by endpoint, method and status code.",
            ["endpoint", "method", "status_code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "api_request_duration_seconds", "API request latency.", ["endpoint"], registry=self.registry
        )
        self.rate_limit_usage = Gauge(
            "integration_rate_limit_usage",
            "Share of the integration platform's rate limit in use (0..1).",
            ["platform"],
            registry=self.registry,
        )
        self.build_info = Gauge(
            "stratum_build_info", "The version the platform runs.", ["version"], registry=self.registry
        )
        self.up = Gauge("stratum_up", "Whether the stand-in API is up.", registry=self.registry)
        self.up.set(1)
        self.endpoint_faults: dict[str, dict[str, Any]] = {}
        self.rate_limits: dict[str, dict[str, Any]] = {}
        self.baseline_usage = {platform: 0.2 for platform in INTEGRATION_PLATFORMS}
        for platform, usage in self.baseline_usage.items():
            self.rate_limit_usage.labels(platform=platform).set(usage)
        self._version = ("", 0.0)
        self._build_version = ""

    def fail_version(self) -> str:
        if self.args.control:
            with contextlib.suppress(OSError, ValueError):
                value = json.loads(Path(self.args.control).read_text()).get("fail_version")
                if value is not None:
                    return str(value)
        return os.environ.get("STRATUM_SANDBOX_FAIL_VERSION", "")

    def version_for_traffic(self) -> str:
        """The running version, read at most every half second (API calls are frequent; health checks read it fresh)."""
        version, read_at = self._version
        if time.monotonic() - read_at > 0.5:
            version = self.source.current()
            self._version = (version, time.monotonic())
        return version

    def set_build_version(self, version: str) -> None:
        with self.lock:
            if version != self._build_version:
                if self._build_version:
                    self.build_info.remove(self._build_version)
                self.build_info.labels(version=version).set(1)
                self._build_version = version

    def apply_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply one POST /_sandbox/faults body; returns the faults now in force."""
        with self.lock:
            if body.get("clear"):
                self.endpoint_faults.clear()
                self.rate_limits.clear()
                for platform, usage in self.baseline_usage.items():
                    self.rate_limit_usage.labels(platform=platform).set(usage)
            if "endpoint" in body:
                endpoint = str(body["endpoint"])
                status = int(body.get("status", 503))
                ratio = float(body.get("ratio", 1.0))
                if not 500 <= status <= 599 or not 0.0 <= ratio <= 1.0:
                    raise ValueError("status must be 5xx and ratio between 0 and 1")
                self.endpoint_faults[endpoint] = {
                    "status": status,
                    "ratio": ratio,
                    "message": str(body.get("message") or f"upstream dependency unavailable ({status})"),
                }
            limit = body.get("rate_limit")
            if isinstance(limit, dict):
                platform = str(limit.get("platform", "meta"))
                usage = float(limit.get("usage", 0.95))
                if not 0.0 <= usage <= 1.0:
                    raise ValueError("usage must be between 0 and 1")
                self.rate_limits[platform] = {"usage": usage, "tenant_id": str(limit.get("tenant_id", ""))}
                self.rate_limit_usage.labels(platform=platform).set(usage)
            current = {"endpoints": dict(self.endpoint_faults), "rate_limits": dict(self.rate_limits)}
        if isinstance(limit, dict):
            for _line in range(int(limit.get("lines", 0))):
                self.integration_call(platform, str(limit.get("tenant_id", "")))
        return current

    def endpoint_fault(self, endpoint: str) -> dict[str, Any] | None:
        with self.lock:
            fault = self.endpoint_faults.get(endpoint)
        if fault and random.random() < fault["ratio"]:
            return fault
        return None

    def integration_call(self, platform: str, tenant_id: str = "") -> int:
        """One call to an integration platform: a rate_limit log line and the usage it reports."""
        with self.lock:
            limit = self.rate_limits.get(platform)
        if not tenant_id:
            hot = limit and limit["tenant_id"] and random.random() < HOT_TENANT_SHARE
            tenant_id = limit["tenant_id"] if hot else random.choice(TENANTS)
        usage = limit["usage"] if limit else self.baseline_usage.get(platform, 0.2)
        throttled = usage >= 0.9
        status = 429 if throttled and random.random() < 0.5 else 200
        endpoint = f"/api/v1/integrations/{platform}/send"
        self.requests.labels(endpoint=endpoint, method="POST", status_code=str(status)).inc()
        self.log.write(
            level="WARNING" if throttled else "INFO",
            event="rate_limit",
            endpoint=endpoint,
            method="POST",
            status_code=status,
            tenant_id=tenant_id,
            platform=platform,
            usage=usage,
            message=f"{platform} rate limit at {usage:.0%}" + (" - throttled" if status == 429 else ""),
        )
        return status

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
            data = (
                body
                if isinstance(body, bytes)
                else body.encode()
                if isinstance(body, str)
                else json.dumps(body).encode()
            )
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _query(self) -> dict[str, str]:
            query = self.path.split("?", 1)[1] if "?" in self.path else ""
            return dict(part.split("=", 1) for part in query.split("&") if "=" in part)

        def _api_call(self, path: str, method: str) -> None:
            started = time.monotonic()
            tenant_id = self.headers.get("X-Tenant-Id") or self._query().get("tenant_id") or random.choice(TENANTS)
            try:
                version = state.version_for_traffic()
            except Exception as exc:
                version, error = "", f"cannot read the running version: {exc}"
            else:
                error = ""
                state.set_build_version(version)
            fault = state.endpoint_fault(path)
            if fault:
                code, message = fault["status"], fault["message"]
            elif error:
                code, message = 503, error
            elif version and version == state.fail_version():
                code, message = 500, f"unhandled exception in {path} handler (version {version})"
            else:
                code, message = 200, ""
            state.requests.labels(endpoint=path, method=method, status_code=str(code)).inc()
            state.latency.labels(endpoint=path).observe(time.monotonic() - started)
            state.log.write(
                level="ERROR" if code >= 500 else "INFO",
                endpoint=path,
                method=method,
                status_code=code,
                tenant_id=tenant_id,
                version=version,
                message=message or "ok",
            )
            if code >= 500:
                self._send(code, {"error": message})
            elif path == "/api/v1/status":
                self._send(
                    200, {"service": "stratum-api", "version": version, "uptime": int(time.time() - state.started)}
                )
            else:
                self._send(200, {"items": [], "tenant_id": tenant_id})

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            if path == "/_sandbox/faults":
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}")
                    if not isinstance(body, dict):
                        raise ValueError("the body must be a JSON object")
                    self._send(200, state.apply_faults(body))
                except (ValueError, TypeError) as exc:
                    self._send(400, {"error": str(exc)})
            elif path.startswith("/api/v1/integrations/") and path.endswith("/send"):
                platform = path.split("/")[4]
                status = state.integration_call(platform, self.headers.get("X-Tenant-Id", ""))
                self._send(status, {"platform": platform})
            elif path in API_ENDPOINTS:
                self._api_call(path, "POST")
            else:
                self._send(404, {"error": f"no route {path}"})

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            if path in API_ENDPOINTS:
                self._api_call(path, "GET")
                return
            if path == "/_sandbox/faults":
                self._send(200, state.apply_faults({}))
                return
            if path == "/metrics":
                with contextlib.suppress(Exception):
                    state.set_build_version(state.version_for_traffic())
                self._send(200, generate_latest(state.registry), CONTENT_TYPE_LATEST)
                return
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
            else:
                self._send(404, {"error": f"no route {path}"})

    return Handler


def background_traffic(state: SandboxState, base_url: str, stop: threading.Event) -> None:
    """Call our own API a few times per second (and the integrations), so rates exist without a load generator."""
    interval = state.args.traffic_interval
    step = 0
    while not stop.wait(interval):
        step += 1
        endpoint = API_ENDPOINTS[step % len(API_ENDPOINTS)]
        with contextlib.suppress(urllib.error.HTTPError, OSError):
            urllib.request.urlopen(base_url + endpoint, timeout=5).close()
        if step % 2 == 0:
            state.integration_call(INTEGRATION_PLATFORMS[(step // 2) % len(INTEGRATION_PLATFORMS)])
        if state.args.cloudwatch_log_group and step % max(1, int(1 / interval)) == 0:
            with contextlib.suppress(Exception):
                state.log.flush_cloudwatch()


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
    parser.add_argument("--log-file", default="", help="where the JSON log lines go (default: stdout)")
    parser.add_argument("--cloudwatch-log-group", default="", help="also ship the log lines to this CloudWatch group")
    parser.add_argument("--cloudwatch-log-stream", default="api/api/sandbox")
    parser.add_argument(
        "--traffic-interval", type=float, default=0.25, help="seconds between background API calls (0: none)"
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    state = SandboxState(args)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    port = server.server_address[1]
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()
    if args.traffic_interval > 0:
        base_url = f"http://{args.host}:{port}"
        threading.Thread(target=background_traffic, args=(state, base_url, stop), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()


if __name__ == "__main__":
    main()
