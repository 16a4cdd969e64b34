"""Alerts to runbooks, the real chain on free ports: the sandbox API and a throwaway Redis (with its exporter),
Debian's Prometheus evaluating extensions/prometheus/alerts.yml (1 s scrape and evaluation, `for: 5s`),
Debian's Alertmanager routing to the rulebook, ansible-rulebook running extensions/eda/rulebooks/alerts_to_triage.yml
with the local inventory, and the runbooks' audit log where each triage report lands.

Used by tests/integration/eda and bench/alert_to_report.py (from eda_stack import alert_stack):

    with alert_stack(moto) as stack:
        stack.api.faults({"endpoint": "/api/v1/messages", "status": 503, "ratio": 1.0})
        record = stack.wait_for_report("incident_high_error_rate", timeout=60)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from harness.prometheus import SandboxApi
from harness.servers import RedisServer, free_port, port_open, stop_process, wait_for

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "extensions/prometheus/alerts.yml"
RULEBOOK = REPO / "extensions/eda/rulebooks/alerts_to_triage.yml"
BIN = Path(sys.executable).parent
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
CLUSTER = "stratum-local"  # what inventories/local names
REDIS_MAXMEMORY = 8 * 1024 * 1024


def triage_reports(audit_log: Path, runbook: str) -> list[dict]:
    """The finished runs of `runbook` in the audit log (one JSON line per run, written by the notify role).

    The one place that knows where a triage report shows up: change it here if that moves.
    """
    if not audit_log.exists():
        return []
    records = [json.loads(line) for line in audit_log.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("runbook") == runbook and r.get("phase") == "end"]


def fast_rules(target: Path) -> Path:
    """alerts.yml with every `for:` at 5s: the only change the end-to-end run makes to the rules."""
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule["for"] = "5s"
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


class _Recorder(BaseHTTPRequestHandler):
    """A second Alertmanager receiver: what Alertmanager sent, to tell a repeat from silence."""

    received: list[dict]

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()


@dataclass
class Process:
    name: str
    cmd: list[str]
    log: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> Process:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, start_new_session=True, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        return self

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@dataclass
class AlertStack:
    workdir: Path
    api: SandboxApi
    redis: RedisServer
    prometheus_url: str
    alertmanager_url: str
    recorder: ThreadingHTTPServer
    rulebook: Process
    audit_log: Path

    def reports(self, runbook: str) -> list[dict]:
        return triage_reports(self.audit_log, runbook)

    def wait_for_report(self, runbook: str, timeout: float, already: int = 0) -> dict:
        """Poll (0.1 s) until the audit log holds more than `already` finished runs of `runbook`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.reports(runbook)
            if len(found) > already:
                return found[-1]
            if self.rulebook.proc.poll() is not None:
                raise AssertionError(f"ansible-rulebook exited:\n{self.rulebook.tail()}")
            time.sleep(0.1)
        raise AssertionError(f"no {runbook} report within {timeout}s\n{self.rulebook.tail()}")

    def notifications(self, alertname: str) -> list[dict]:
        """Firing alerts named `alertname` Alertmanager delivered (to the recorder, the same as to the rulebook)."""
        return [
            alert
            for note in list(self.recorder.received)
            for alert in note["alerts"]
            if alert["labels"]["alertname"] == alertname and alert["status"] == "firing"
        ]

    def events_seen(self, alertname: str) -> int:
        """Events the rulebook received for `alertname` (ansible-rulebook --print-events)."""
        return len(re.findall(rf"'alertname': '{alertname}'", self.rulebook.log.read_text(errors="replace")))

    def fill_redis(self, share: float) -> None:
        """Write 64 KiB values until used_memory is past `share` of maxmemory."""
        client = self.redis.client()
        value, n = b"x" * 65536, 0
        while client.info("memory")["used_memory"] < share * REDIS_MAXMEMORY:
            client.set(f"cache:e2e:{n}", value)
            n += 1


def _prometheus_config(workdir: Path, targets: dict[str, str], alertmanager: str) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "external_labels": {"environment": "local"}},
        "rule_files": [str(fast_rules(workdir / "alerts.yml"))],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()
        ],
    }
    path = workdir / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2))
    return path


def _alertmanager_config(workdir: Path, eda: str, recorder: str) -> Path:
    def receiver(name: str, url: str) -> dict:
        return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}

    config = {
        "route": {
            "receiver": "eda",
            "group_by": ["alertname", "service"],
            "group_wait": "0s",
            "group_interval": "1s",
            # a firing alert is re-sent every 2 s: the rulebook's throttle must absorb the repeats
            "repeat_interval": "2s",
            "routes": [{"receiver": "recorder", "continue": True}, {"receiver": "eda"}],
        },
        "receivers": [receiver("eda", f"http://{eda}/alerts"), receiver("recorder", f"http://{recorder}/")],
    }
    path = workdir / "alertmanager.yml"
    path.write_text(json.dumps(config, indent=2))
    return path


def _seed_ecs(moto) -> None:
    """The ECS service the local inventory names, running 1.0.0 (the triage reads its rollout)."""
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="stratum-api", containerDefinitions=[{"name": "api", "image": "stratum/api:1.0.0", "memory": 128}]
    )
    ecs.create_service(cluster=CLUSTER, serviceName="stratum-api", taskDefinition="stratum-api:1", desiredCount=1)


def _http_ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=1) as resp:
        return resp.status == 200


@contextlib.contextmanager
def alert_stack(moto) -> Iterator[AlertStack]:
    """Everything started and healthy; stopped in reverse order after."""
    workdir = Path(tempfile.mkdtemp(prefix="stratum-eda-"))
    started: list = []
    recorder = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    recorder.received = []
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    try:
        _seed_ecs(moto)
        api_args = ["--ecs-cluster", CLUSTER, "--ecs-service", "stratum-api", "--ecs-container", "api"]
        api = SandboxApi(workdir=workdir, args=[*api_args, "--traffic-interval", "0.1"], env=moto.env).start()
        started.append(api)
        redis_dir = workdir / "redis"
        redis_dir.mkdir()
        redis = RedisServer(port=free_port(), workdir=redis_dir).start(["--maxmemory", str(REDIS_MAXMEMORY)])
        started.append(redis)

        exporter_port = free_port()
        exporter = Process(
            "redis exporter",
            [
                shutil.which("prometheus-redis-exporter") or "/usr/bin/prometheus-redis-exporter",
                f"-redis.addr=redis://127.0.0.1:{redis.port}",
                f"-web.listen-address=127.0.0.1:{exporter_port}",
            ],
            workdir / "redis_exporter.log",
        ).start()
        started.append(exporter)

        eda_port, am_port, prom_port = free_port(), free_port(), free_port()
        recorder_at = f"127.0.0.1:{recorder.server_port}"
        am = Process(
            "alertmanager",
            [
                shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager",
                f"--config.file={_alertmanager_config(workdir, f'127.0.0.1:{eda_port}', recorder_at)}",
                f"--storage.path={workdir / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",  # no gossip port 9094
                "--log.level=warn",
            ],
            workdir / "alertmanager.log",
        ).start()
        started.append(am)
        targets = {"stratum-api": api.target, "redis": f"127.0.0.1:{exporter_port}"}
        prom = Process(
            "prometheus",
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={_prometheus_config(workdir, targets, f'127.0.0.1:{am_port}')}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--log.level=warn",
            ],
            workdir / "prometheus.log",
        ).start()
        started.append(prom)

        audit_log = workdir / "audit.jsonl"
        env = {
            **os.environ,
            **moto.env,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "JAVA_HOME": os.environ.get("JAVA_HOME") or JAVA_HOME,
            "STRATUM_EDA_HOST": "127.0.0.1",
            "STRATUM_EDA_PORT": str(eda_port),
            # the local inventory's endpoints: every one a throwaway of this stack
            "STRATUM_LOCAL_API_URL": api.url,
            "STRATUM_LOCAL_AWS_ENDPOINT": moto.endpoint_url,
            "STRATUM_LOCAL_AWS_REGION": moto.region,
            "STRATUM_LOCAL_PROMETHEUS_URL": f"http://127.0.0.1:{prom_port}",
            "STRATUM_LOCAL_REDIS_URL": redis.url,
            "STRATUM_LOCAL_BROKER_URL": redis.url,
            # no PostgreSQL in this stack: the error-rate triage's TCP probe finds nothing listening there
            "STRATUM_LOCAL_PGHOST": "127.0.0.1",
            "STRATUM_LOCAL_PGPORT": str(free_port()),
            "STRATUM_LOCAL_PGDATABASE": "stratum",
            "STRATUM_LOCAL_PGUSER": "stratum",
            "STRATUM_LOCAL_AUDIT_LOG": str(audit_log),
            "STRATUM_SLACK_WEBHOOK_URL": "",
        }
        rulebook = Process(
            "ansible-rulebook",
            [
                str(BIN / "ansible-rulebook"),
                "--rulebook",
                str(RULEBOOK),
                "--inventory",
                str(REPO / "inventories/local"),
                "--env-vars",
                "STRATUM_EDA_HOST,STRATUM_EDA_PORT",
                "--print-events",
            ],
            workdir / "rulebook.log",
            env=env,
        ).start()
        started.append(rulebook)

        wait_for(lambda: _http_ok(f"http://127.0.0.1:{prom_port}/-/ready"), 30, "prometheus", prom.log)
        wait_for(lambda: _http_ok(f"http://127.0.0.1:{am_port}/-/ready"), 30, "alertmanager", am.log)
        wait_for(lambda: port_open(eda_port), 60, "ansible-rulebook's alertmanager source", rulebook.log)
        stack = AlertStack(
            workdir=workdir,
            api=api,
            redis=redis,
            prometheus_url=f"http://127.0.0.1:{prom_port}",
            alertmanager_url=f"http://127.0.0.1:{am_port}",
            recorder=recorder,
            rulebook=rulebook,
            audit_log=audit_log,
        )
        yield stack
    finally:
        for component in reversed(started):
            with contextlib.suppress(Exception):
                component.stop()
        recorder.shutdown()
        recorder.server_close()
        if not os.environ.get("STRATUM_EDA_KEEP"):  # set it to read the logs of a failed run
            shutil.rmtree(workdir, ignore_errors=True)
