"""Error-rate triage end to end on Compose: the sandbox API serving its own traffic, a real Prometheus scraping
it every second, the API's log lines through `docker compose logs` (the Compose double), rollout history from
the platform role's deploy record, and a real HTTP dependency that is stopped.

One stack for the module (the API reads the version it runs from the Compose double's containers, so the
platform deploy below is what it serves); the tests run in file order: the failing release first (the error
history before it must be clean), then a failing endpoint with a stopped dependency.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from harness.ansible_run import REPO, run_playbook
from harness.prometheus import prometheus_server, sandbox_api
from harness.servers import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compose"))
from compose_platform import platform, services, start_project

PLAYBOOK = REPO / "playbooks" / "incident_high_error_rate.yml"
FAILING = "1.1.0"
# Short windows so a few seconds of traffic decide; the runbook's 5m is the role default.
FAST = {
    "incident_high_error_rate_window": "10s",
    "incident_high_error_rate_history_range": "2m",
    "incident_high_error_rate_history_window": "3s",
    "incident_high_error_rate_history_step": "1s",
    "incident_high_error_rate_log_lines": 300,
}


class Answers(BaseHTTPRequestHandler):
    """The integration platform's API: a real local HTTP server that answers 200."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    compose = start_project(tmp, {"api.env": "LOG_LEVEL=info\n"})
    control = tmp / "control.json"
    control.write_text(json.dumps({"fail_version": FAILING}))
    args = ["--compose-state", str(compose.state_file), "--compose-project", str(compose.dir)]
    args += ["--compose-service", "api", "--control", str(control), "--traffic-interval", "0.1"]
    dependency = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=dependency.serve_forever, daemon=True).start()
    with sandbox_api(args) as api, prometheus_server([api.target]) as prom:
        # `docker compose logs api` prints what the API writes (its stdout in a real container)
        env = {**compose.env, "STRATUM_DOCKER_DOUBLE_LOGS": str(api.workdir)}
        prom.wait_for_samples("api_requests_total", count=3)
        yield {"compose": compose, "env": env, "api": api, "prom": prom, "control": control, "dependency": dependency}
    dependency.shutdown()
    dependency.server_close()


def triage(stack, **extra):
    extra_vars = {
        "stratum_platform": "compose",
        "stratum_services": services(str(stack["compose"].dir)),
        "incident_high_error_rate_prometheus_url": stack["prom"].url,
        "incident_high_error_rate_dependencies": [
            {"name": "meta", "url": f"http://127.0.0.1:{stack['dependency'].server_address[1]}/v18.0/me"}
        ],
        **FAST,
        **extra,
    }
    run = run_playbook(PLAYBOOK, extra_vars=extra_vars, env=stack["env"])
    assert run.rc == 0, run.output[-3000:]
    return run.custom_stats["_run"]["incident_high_error_rate_report"]


def failing(prom, promql: str) -> set[str]:
    return {s["metric"].get("endpoint", "") for s in prom.query(promql)}


def test_failing_release_is_named_the_likely_cause(stack):
    prom = stack["prom"]
    wait_for(lambda: len(prom.query('api_requests_total{endpoint="/api/v1/status"}[10s]')) > 0, 20, "clean history")
    time.sleep(3)
    result, run = platform(stack["compose"], "deploy", platform_version=FAILING, platform_wait_timeout=30)
    assert run.rc == 0, run.output[-3000:]
    assert result["version"] == FAILING
    wait_for(lambda: failing(prom, 'rate(api_requests_total{status_code="500"}[3s]) > 0'), 30, "500s after the deploy")
    time.sleep(3)
    report = triage(stack)
    history = report["history"]
    assert history["error"] is None, history
    assert [r["version"] for r in history["releases"]] == [FAILING, "1.0.0"]
    assert history["likely_cause"] is True, history
    assert history["verdict"].startswith("recent deploy is the likely cause"), history["verdict"]
    evidence = history["evidence"]
    assert evidence["version"] == FAILING and evidence["samples_before"] > 0
    assert evidence["error_pct_after"] > 5.0 > evidence["error_pct_before"]
    assert any(s.startswith("deployment: recent deploy is the likely cause") for s in report["suspects"])
    groups = report["error_distribution"]["error_groups"]
    assert groups and all(f"(version {FAILING})" in g["message"] for g in groups), report["error_distribution"]
    (meta,) = report["dependency_probes"]
    assert meta["up"] is True and meta["status"] == 200 and 0 < meta["latency_ms"] < 5000


def test_failing_endpoint_is_named_first_and_a_stopped_dependency_is_down(stack):
    stack["control"].write_text(json.dumps({"fail_version": ""}))
    stack["api"].faults({"endpoint": "/api/v1/contacts", "status": 503, "ratio": 1.0, "message": "contacts store down"})
    # the release's 500s have left the 10s window: only the faulted endpoint fails
    only = 'rate(api_requests_total{status_code=~"5.."}[10s]) > 0'
    wait_for(lambda: failing(stack["prom"], only) == {"/api/v1/contacts"}, 45, "only /api/v1/contacts failing")
    stack["dependency"].shutdown()
    stack["dependency"].server_close()
    report = triage(stack)
    assert report["failing_endpoints"][0]["endpoint"] == "/api/v1/contacts"
    assert report["failing_endpoints"][0]["status_codes"] == ["503"]
    assert report["error_rate_pct"] > report["threshold_pct"] == 5.0
    assert report["over_threshold"] is True
    assert report["prometheus_errors"] == []
    top = report["error_distribution"]["error_groups"][0]
    assert (top["message"], top["endpoints"]) == ("contacts store down", ["/api/v1/contacts"])
    assert report["dependencies_down"] == ["meta"]
    (meta,) = report["dependency_probes"]
    assert meta["up"] is False and meta["error"] and meta["latency_ms"] is not None
    assert any(s.startswith("dependency down: meta") for s in report["suspects"])
