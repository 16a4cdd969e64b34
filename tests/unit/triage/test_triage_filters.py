"""Triage decisions: Prometheus answers, log grouping, tenant ranking, release lists and the rollout verdict."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.filter import triage
from ansible_collections.stratum.ops.plugins.module_utils.prometheus import normalise_result, parse_duration


def answer(*samples):
    return {"ok": True, "result": [{"metric": m, "value": v} for m, v in samples]}


def test_top_endpoints_sums_the_runbook_series_per_endpoint_biggest_first():
    top = triage.prometheus_top_endpoints(
        answer(
            ({"endpoint": "/a", "method": "GET", "status_code": "500"}, 1.0),
            ({"endpoint": "/b", "method": "GET", "status_code": "503"}, 1.5),
            ({"endpoint": "/a", "method": "POST", "status_code": "502"}, 0.75),
            ({"endpoint": "/c", "status_code": "500"}, None),
            ({"endpoint": "/b", "status_code": "500"}, 0.0),
        ),
        top=5,
    )
    assert top == [
        {"endpoint": "/a", "errors_per_second": 1.75, "status_codes": ["500", "502"]},
        {"endpoint": "/b", "errors_per_second": 1.5, "status_codes": ["503"]},
    ]
    assert triage.prometheus_top_endpoints(None) == []


def test_value_and_failures_of_an_answer():
    assert triage.prometheus_value(answer(({}, 0.1), ({}, 0.3))) == 0.3
    assert triage.prometheus_value({"ok": False, "result": []}, default=-1) == -1
    queries = {
        "a": {"ok": True, "query": "up", "result": [1]},
        "b": {"ok": False, "query": "x[", "reason": "bad_query", "error": "HTTP 400: parse error"},
    }
    assert triage.prometheus_failures(queries) == [
        {"name": "b", "query": "x[", "reason": "bad_query", "error": "HTTP 400: parse error"}
    ]


def line(**fields):
    return json.dumps({"ts": "2026-12-01T04:00:00+00:00", **fields})


def test_error_groups_count_the_last_error_lines_by_message():
    lines = [
        line(level="INFO", endpoint="/a", message="ok"),
        "api-1  | " + line(level="ERROR", endpoint="/a", message="db timeout"),
        line(level="ERROR", endpoint="/b", message="db timeout"),
        line(level="ERROR", endpoint="/b", message="boom"),
        "2026-12-01 ERROR plain text failure",
    ]
    groups = triage.log_error_groups(lines)
    assert [(g["message"], g["count"], g["endpoints"]) for g in groups] == [
        ("db timeout", 2, ["/a", "/b"]),
        ("2026-12-01 ERROR plain text failure", 1, []),
        ("boom", 1, ["/b"]),
    ]
    # only the last N error lines count
    assert [g["message"] for g in triage.log_error_groups(lines, limit=1)] == ["2026-12-01 ERROR plain text failure"]


def test_rate_limit_tenants_are_ranked_by_their_rate_limit_lines():
    lines = [line(event="rate_limit", tenant_id="t-1", platform="meta", status_code=200)] * 2
    lines += [line(event="rate_limit", tenant_id="t-42", platform="meta", status_code=429)] * 3
    lines += [line(event="rate_limit", tenant_id="t-9", platform="google", status_code=200)] * 9
    lines += [line(level="INFO", tenant_id="t-9", message="ok")] * 9
    assert triage.rate_limit_tenants(lines, top=2, platform="meta") == [
        {"tenant_id": "t-42", "lines": 3, "throttled": 3},
        {"tenant_id": "t-1", "lines": 2, "throttled": 0},
    ]
    assert triage.rate_limit_tenants(lines)[0]["tenant_id"] == "t-9"


def test_connection_lines_match_case_insensitively_and_a_bad_pattern_is_refused():
    lines = [line(message="Connection refused to db"), line(message="fine"), line(message="pool TIMEOUT")]
    assert len(triage.log_lines_matching(lines, "connection|timeout")) == 2
    with pytest.raises(AnsibleFilterError, match="bad pattern"):
        triage.log_lines_matching(lines, "(")


def series(*points):
    return {"ok": True, "result": [{"metric": {}, "values": [[t, v] for t, v in points]}]}


RELEASES = [
    {"revision": "3", "version": "1.5.0", "time": "2026-12-01T04:00:10+00:00"},
    {"revision": "2", "version": "1.4.2", "time": "2026-12-01T03:00:00+00:00"},
]
DEPLOYED = 1796097610  # 2026-12-01T04:00:10Z


def test_verdict_names_the_newest_release_when_errors_rose_after_it():
    history = series((DEPLOYED - 2, 0.0), (DEPLOYED - 1, 0.01), (DEPLOYED + 1, 0.4), (DEPLOYED + 2, 0.6))
    verdict = triage.rollout_verdict(RELEASES, history, 5)
    assert verdict["likely_cause"] is True
    assert verdict["verdict"].startswith("recent deploy is the likely cause: 5xx 50.0% since 3 (1.5.0)")
    assert verdict["evidence"]["error_pct_before"] == 0.5
    assert verdict["evidence"]["samples_after"] == 2


@pytest.mark.parametrize(
    ("points", "words"),
    [
        (((DEPLOYED - 1, 0.3), (DEPLOYED + 1, 0.32)), "is not the likely cause"),  # already failing before
        (((DEPLOYED - 1, 0.0), (DEPLOYED + 1, 0.02)), "is not the likely cause"),  # under the threshold
        (((DEPLOYED + 1, 0.5),), "no error-rate samples before"),
        (((DEPLOYED - 1, 0.0),), "no error-rate samples since"),
    ],
)
def test_verdict_is_no_or_cannot_tell_without_a_rise(points, words):
    verdict = triage.rollout_verdict(RELEASES, series(*points), 5)
    assert verdict["likely_cause"] is False and words in verdict["verdict"]


def test_verdict_cannot_tell_without_history_or_a_time():
    assert "no rollout history" in triage.rollout_verdict([], None)["verdict"]
    untimed = triage.rollout_verdict([{"revision": "f:3", "version": "1", "time": None}], series((1, 1.0)))
    assert untimed["likely_cause"] is False and "has no time" in untimed["verdict"]


def test_k8s_releases_come_from_replicaset_revisions_newest_first():
    def rs(revision, tag, created):
        return {
            "metadata": {
                "name": f"api-{revision}",
                "creationTimestamp": created,
                "annotations": {"deployment.kubernetes.io/revision": revision},
            },
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "api", "image": f"s/api:{tag}"}]}}},
        }

    releases = triage.k8s_releases([rs("2", "1.1", "t2"), rs("10", "1.2", "t10"), {"metadata": {}}], "api")
    assert [(r["revision"], r["version"], r["time"], r["current"]) for r in releases] == [
        ("10", "1.2", "t10", True),
        ("2", "1.1", "t2", False),
    ]


def test_ecs_releases_take_the_deployment_time_and_keep_no_environment():
    definitions = [
        triage.ecs_definition_summary(
            {
                "family": "api",
                "revision": revision,
                "container_definitions": [{"name": "api", "image": f"s/api:{tag}", "environment": [{"value": "x"}]}],
            }
        )
        for revision, tag in ((1, "1.0"), (2, "1.1"))
    ]
    assert "environment" not in json.dumps(definitions)
    deployments = [{"taskDefinition": "arn:aws:ecs:r:1:task-definition/api:2", "status": "PRIMARY", "createdAt": 5}]
    releases = triage.ecs_releases(definitions, deployments, "api")
    summary = [(r["revision"], r["version"], r["current"]) for r in releases]
    assert summary == [("api:2", "1.1", True), ("api:1", "1.0", False)]
    assert releases[0]["time"].startswith("1970-01-01T00:00:05")


def test_compose_releases_from_the_deploy_record():
    record = {"version": "1.2.0", "previous": "1.1.0", "history": ["1.0.0", "1.1.0", "1.2.0"]}
    releases = triage.compose_releases(record, "1.2.0", 1796097610)
    assert [(r["revision"], r["version"], r["current"]) for r in releases] == [
        ("3", "1.2.0", True),
        ("2", "1.1.0", False),
        ("1", "1.0.0", False),
    ]
    assert releases[0]["time"].startswith("2026-12-01T04:00:10") and releases[1]["time"] is None
    only = {"revision": "1", "version": "1.0.0", "time": None, "current": True}
    assert triage.compose_releases({}, "1.0.0") == [only]


def test_durations():
    assert triage.duration_seconds("1h30m") == 5400 and triage.duration_seconds("") == 0
    with pytest.raises(AnsibleFilterError):
        triage.duration_seconds("10 minutes")
    assert parse_duration("1m30s") == 90 and parse_duration("250ms") == 0.25
    with pytest.raises(ValueError):
        parse_duration("5x")


def test_prometheus_nan_and_inf_become_null():
    samples = [{"metric": {}, "value": [1, "NaN"]}, {"metric": {}, "value": [1, "+Inf"]}]
    data = {"resultType": "vector", "result": samples}
    assert [s["value"] for s in normalise_result(data)] == [None, None]
    matrix = {"resultType": "matrix", "result": [{"metric": {"a": "b"}, "values": [[1, "0.5"], [2, "NaN"]]}]}
    assert normalise_result(matrix) == [{"metric": {"a": "b"}, "values": [[1.0, 0.5], [2.0, None]]}]


@pytest.mark.parametrize(
    ("workers", "severity", "words"),
    [
        ({}, "critical", "0/0"),
        ({"w1@h": {"responded": False}}, "critical", "w1@h"),
        ({"w1@h": {"responded": True}, "w2@h": {"responded": False}}, "warning", "silent: w2@h"),
        ({"w1@h": {"responded": True}}, "ok", "1/1"),
    ],
)
def test_zero_responding_celery_workers_are_critical(workers, severity, words):
    status = triage.celery_workers_status(workers)
    assert status["severity"] == severity and words in status["message"]
