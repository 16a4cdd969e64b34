"""Fixtures for the ECS tests: moto-backed ECS services and a throttling proxy in front of moto."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class EcsSandbox:
    """Builds ECS clusters, task definition revisions and services in moto.

    moto quirks this works around: a service's deployments are frozen at creation (UpdateService never
    adds a deployment or updates its counts), and runningCount only follows desiredCount when an
    UpdateService call sets desiredCount. So a "healthy" service is created with desiredCount 0 (its
    deployment is then COMPLETED) and scaled up with UpdateService; a service created with
    desiredCount > 0 keeps runningCount 0 and an IN_PROGRESS rollout forever, i.e. never stabilises.
    """

    def __init__(self, moto: Any):
        self.moto = moto
        self.ecs = moto.client("ecs")

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def cluster(self, name: str | None = None) -> str:
        name = name or self.unique("cluster")
        self.ecs.create_cluster(clusterName=name)
        return name

    def register(
        self,
        family: str,
        tag: str,
        container: str = "api",
        env: dict[str, str] | None = None,
        secrets: list[dict[str, str]] | None = None,
        image_repo: str = "stratum/api",
    ) -> str:
        """Register a revision running <image_repo>:<tag>; returns 'family:revision'."""
        definition: dict[str, Any] = {
            "name": container,
            "image": f"{image_repo}:{tag}",
            "memory": 128,
            "environment": [{"name": k, "value": v} for k, v in (env or {}).items()],
        }
        if secrets:
            definition["secrets"] = secrets
        td = self.ecs.register_task_definition(family=family, containerDefinitions=[definition])["taskDefinition"]
        return f"{td['family']}:{td['revision']}"

    def service(self, cluster: str, name: str, task_definition: str, desired: int = 2, stable: bool = True) -> str:
        """Create a service on task_definition; stable=False leaves it never reaching its desired count."""
        if stable:
            self.ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=task_definition, desiredCount=0)
            self.ecs.update_service(cluster=cluster, service=name, desiredCount=desired)
        else:
            self.ecs.create_service(
                cluster=cluster, serviceName=name, taskDefinition=task_definition, desiredCount=desired
            )
        return name

    def move(self, cluster: str, name: str, task_definition: str) -> None:
        """A deploy as the AWS CLI would do it (moto stores the reference as given)."""
        self.ecs.update_service(cluster=cluster, service=name, taskDefinition=task_definition)

    def describe(self, cluster: str, name: str) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def current(self, cluster: str, name: str) -> str:
        """The service's task definition as family:revision, whatever form moto returns."""
        ref = self.describe(cluster, name)["taskDefinition"]
        return ref.split("/")[-1]

    def deregister(self, task_definition: str) -> None:
        self.ecs.deregister_task_definition(taskDefinition=task_definition)

    def revision_count(self, family: str) -> int:
        arns = []
        for status in ("ACTIVE", "INACTIVE"):
            arns += self.ecs.list_task_definitions(familyPrefix=family, status=status)["taskDefinitionArns"]
        return len(arns)


@pytest.fixture
def ecs(moto) -> EcsSandbox:
    """ECS builder on the module's moto server (tests use unique names, so no reset is needed)."""
    return EcsSandbox(moto)


@pytest.fixture
def ecs_fresh(moto) -> EcsSandbox:
    """ECS builder on an emptied moto (for the platform tests, whose names come from the inventory)."""
    moto.reset()
    return EcsSandbox(moto)


class ThrottlingProxy:
    """An HTTP proxy in front of moto that answers the first ``throttle`` requests whose X-Amz-Target
    ends with one of ``operations`` with HTTP 400 ``ThrottlingException`` (what ECS sends when rate
    limited), and forwards everything else to moto."""

    def __init__(self, upstream: str, throttle: int, operations: tuple[str, ...]):
        self.upstream = upstream
        self.remaining = throttle
        self.operations = operations
        self.throttled: list[str] = []
        self.forwarded: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                with proxy.lock:
                    throttle = proxy.remaining > 0 and target.endswith(proxy.operations)
                    if throttle:
                        proxy.remaining -= 1
                        proxy.throttled.append(target)
                    else:
                        proxy.forwarded.append(target)
                if throttle:
                    payload = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("x-amzn-ErrorType", "ThrottlingException")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, data, rheaders = response.status, response.read(), response.headers
                except urllib.error.HTTPError as exc:
                    status, data, rheaders = exc.code, exc.read(), exc.headers
                self.send_response(status)
                for key, value in rheaders.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ThrottlingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def throttling_proxy(moto):
    """throttling_proxy(n, operations) -> a started ThrottlingProxy in front of the module's moto."""
    proxies: list[ThrottlingProxy] = []

    def start(throttle: int, operations: tuple[str, ...] = ("DescribeServices",)) -> ThrottlingProxy:
        proxy = ThrottlingProxy(moto.endpoint_url, throttle, operations).__enter__()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.__exit__(None, None, None)
