"""A throwaway real Prometheus (Debian's `prometheus` package) for the tests, the molecule scenarios and `make demo`.

It runs on a free port with a generated config that scrapes the given targets every second, stores its
TSDB in a temp dir, and is stopped after:

    with prometheus_server(["127.0.0.1:8000"]) as prom:
        prom.wait_for_samples('api_requests_total')
        prom.query('sum(rate(api_requests_total[30s]))')
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.servers import free_port, stop_process, wait_for


def prometheus_binary() -> str:
    """The prometheus binary (`make setup` installs the Debian package)."""
    found = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(found).exists():
        raise RuntimeError("prometheus is not installed: run `make setup` (Debian package prometheus)")
    return found


def scrape_config(targets: list[str], interval: str = "1s", job: str = "stratum-api") -> str:
    """A Prometheus config scraping the targets (host:port) every `interval`."""
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    return json.dumps(config, indent=2)  # JSON is YAML, and needs no yaml library here


@dataclass
class PrometheusServer:
    """A prometheus process scraping `targets` every second."""

    targets: list[str]
    workdir: Path
    port: int = 0
    lifecycle: bool = False
    proc: subprocess.Popen | None = field(default=None, repr=False)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "prometheus.log"

    def start(self, timeout: float = 30) -> PrometheusServer:
        self.port = self.port or free_port()
        config = self.workdir / "prometheus.yml"
        config.write_text(scrape_config(self.targets))
        cmd = [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]
        if self.lifecycle:
            cmd.append("--web.enable-lifecycle")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.ready, timeout, f"prometheus on port {self.port}", self.log)
        return self

    def ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
            return resp.status == 200

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path> and return its `data`."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=5) as resp:
            return json.loads(resp.read())["data"]

    def query(self, promql: str) -> list[dict]:
        """An instant query's result list."""
        return self.api("query", query=promql)["result"]

    def targets_up(self) -> bool:
        active = self.api("targets")["activeTargets"]
        return len(active) == len(self.targets) and all(t["health"] == "up" for t in active)

    def wait_for_samples(self, promql: str = "up == 1", timeout: float = 30, count: int = 1) -> None:
        """Wait until every target is up and `promql` returns at least `count` samples."""

        def enough() -> bool:
            return self.targets_up() and len(self.query(promql)) >= count

        wait_for(enough, timeout, f"samples for {promql}", self.log)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@contextlib.contextmanager
def prometheus_server(targets: list[str], lifecycle: bool = False) -> Iterator[PrometheusServer]:
    """A started Prometheus scraping `targets`; stopped and its temp dir removed after."""
    workdir = Path(tempfile.mkdtemp(prefix="stratum-prometheus-"))
    server = PrometheusServer(targets=targets, workdir=workdir, lifecycle=lifecycle)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def start_detached(targets: list[str]) -> dict:
    """Start a Prometheus that outlives this process (`make demo`, molecule); stop it with harness.sandbox.stop."""
    workdir = Path(tempfile.mkdtemp(prefix="stratum-sandbox-prometheus-"))
    server = PrometheusServer(targets=targets, workdir=workdir).start()
    assert server.proc is not None
    state = {"kind": "prometheus", "pid": server.proc.pid, "port": server.port, "url": server.url}
    return {**state, "workdir": str(workdir)}


@dataclass
class SandboxApi:
    """scripts/sandbox_api.py on a free port: runbook metrics, JSON log lines in `log_file`, faults at run time."""

    workdir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "api.log"

    def start(self) -> SandboxApi:
        import os
        import sys

        self.port = self.port or free_port()
        script = Path(__file__).resolve().parents[2] / "scripts" / "sandbox_api.py"
        cmd = [sys.executable, str(script), "--port", str(self.port), "--log-file", str(self.log_file), *self.args]
        with open(self.workdir / "api.out", "ab") as out:
            self.proc = subprocess.Popen(
                cmd, start_new_session=True, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        wait_for(self.live, 30, f"sandbox API on port {self.port}", self.workdir / "api.out")
        return self

    def live(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/health/live", timeout=2) as resp:
            return resp.status == 200

    def faults(self, body: dict) -> dict:
        """POST /_sandbox/faults and return the faults in force."""
        req = urllib.request.Request(
            f"{self.url}/_sandbox/faults", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@contextlib.contextmanager
def sandbox_api(args: list[str] | None = None, env: dict[str, str] | None = None) -> Iterator[SandboxApi]:
    """A started sandbox API (fixed version 1.0.0 unless args say otherwise); stopped after."""
    workdir = Path(tempfile.mkdtemp(prefix="stratum-api-"))
    api = SandboxApi(workdir=workdir, args=args if args is not None else ["--version", "1.0.0"], env=env or {})
    try:
        yield api.start()
    finally:
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)
