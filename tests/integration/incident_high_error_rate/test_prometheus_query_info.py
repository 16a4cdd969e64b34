"""stratum.ops.prometheus_query_info against a real Prometheus scraping the sandbox API: answers, and each
failure a real server produces (a rejected query, no samples, nobody listening, no answer in time) reported
per query instead of failing the task."""

from __future__ import annotations

import socket

import pytest
from harness.ansible_run import assert_clean_failure, run_module
from harness.prometheus import prometheus_server, sandbox_api
from harness.servers import free_port

MODULE = "stratum.ops.prometheus_query_info"


@pytest.fixture(scope="module")
def prom():
    with sandbox_api() as api, prometheus_server([api.target]) as server:
        api.faults({"rate_limit": {"platform": "meta", "usage": 0.93}})
        server.wait_for_samples('integration_rate_limit_usage{platform="meta"} == 0.93')
        server.wait_for_samples("api_requests_total", count=3)
        yield server


def test_each_query_is_answered_or_explained_in_one_call(prom):
    queries = [
        {"name": "usage", "query": 'integration_rate_limit_usage{platform="meta"}'},
        {"name": "history", "query": "sum(api_requests_total)", "range": "30s", "step": "1s"},
        {"name": "bad", "query": "sum(rate(api_requests_total[5x]))"},
        {"name": "empty", "query": 'integration_rate_limit_usage{platform="nowhere"}'},
    ]
    result, _run = run_module(MODULE, {"url": prom.url, "queries": queries}, check=True)
    assert not result.failed and not result.changed
    answers = result["queries"]
    assert answers["usage"]["ok"] and answers["usage"]["result"][0]["value"] == 0.93
    assert answers["usage"]["result"][0]["metric"]["platform"] == "meta"
    points = answers["history"]["result"][0]["values"]
    assert len(points) >= 2 and all(len(p) == 2 for p in points)
    assert answers["bad"]["reason"] == "bad_query" and "HTTP 400" in answers["bad"]["error"]
    assert answers["bad"]["query"] == "sum(rate(api_requests_total[5x]))"
    assert (answers["empty"]["ok"], answers["empty"]["reason"], answers["empty"]["result"]) == (False, "empty", [])


def test_unreachable_and_silent_servers_are_reported_not_fatal():
    queries = [{"name": "a", "query": "up"}, {"name": "b", "query": "up"}]
    result, _run = run_module(MODULE, {"url": f"http://127.0.0.1:{free_port()}", "queries": queries})
    assert not result.failed
    assert {n: a["reason"] for n, a in result["queries"].items()} == {"a": "unreachable", "b": "unreachable"}
    # a socket that accepts and never answers: the one thing a real Prometheus does not do on purpose
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result, _run = run_module(MODULE, {"url": url, "timeout": 1, "queries": queries})
    assert {n: a["reason"] for n, a in result["queries"].items()} == {"a": "timeout", "b": "timeout"}
    assert "within 1s" in result["queries"]["a"]["error"]


def test_bad_options_fail_before_any_query():
    result, _run = run_module(MODULE, {"url": "prometheus:9090", "queries": [{"name": "a", "query": "up"}]})
    assert_clean_failure(result, "url must be an http(s) URL")
