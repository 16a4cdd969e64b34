# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Triage decisions from Prometheus answers, log lines and rollout history (pure Python, unit-tested)."""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from typing import Any

from ansible.errors import AnsibleFilterError


# ------------------------------------------------------------------------------------------ Prometheus
def prometheus_value(answer: dict[str, Any] | None, default: Any = None) -> Any:
    """The largest sample value of an instant-query answer from prometheus_query_info, or default."""
    values = [s.get("value") for s in (answer or {}).get("result") or [] if s.get("value") is not None]
    return max(values) if values else default


def prometheus_top_endpoints(answer: dict[str, Any] | None, top: int = 5, label: str = "endpoint") -> list[dict]:
    """Failing endpoints from the runbook's topk(5, rate(api_requests_total{status_code=~"5.."}[5m])).

    The runbook's query answers one series per endpoint, method and status code: they are summed per
    endpoint here, biggest first, with the status codes seen.
    """
    totals: dict[str, float] = {}
    codes: dict[str, set[str]] = {}
    for sample in (answer or {}).get("result") or []:
        value = sample.get("value")
        if value is None or float(value) <= 0:  # topk keeps series at rate 0: they are not failing now
            continue
        name = (sample.get("metric") or {}).get(label, "?")
        totals[name] = totals.get(name, 0.0) + float(value)
        codes.setdefault(name, set()).add((sample.get("metric") or {}).get("status_code", "?"))
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[: int(top)]
    return [
        {label: name, "errors_per_second": round(rate, 4), "status_codes": sorted(codes[name])} for name, rate in ranked
    ]


def prometheus_failures(queries: dict[str, Any] | None) -> list[dict]:
    """The queries that gave no answer: [{name, query, reason, error}], for the report."""
    return [
        {"name": name, "query": answer.get("query"), "reason": answer.get("reason"), "error": answer.get("error")}
        for name, answer in sorted((queries or {}).items())
        if not answer.get("ok")
    ]


# ---------------------------------------------------------------------------------------------- logs
def duration_seconds(text: Any) -> int:
    """Seconds in a duration such as '90s', '15m', '1h30m' (empty: 0, no limit)."""
    text = str(text or "").strip()
    if not text:
        return 0
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AnsibleFilterError(f"duration_seconds: {text!r} is not a duration like 30s, 15m, 1h30m")
    return sum(int(n) * units[u] for n, u in parts)


def _time(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 string, epoch seconds or milliseconds; None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value) / 1000 if value > 1e11 else float(value)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        try:
            return _time(float(text))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def parse_log_lines(lines: Any) -> list[dict[str, Any]]:
    """Log lines (JSON or plain text, a list or one string) as dicts; plain lines become {message, level?}.

    A `docker compose logs` prefix (`api-1  | `) is removed first.
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    parsed = []
    for raw in lines or []:
        if isinstance(raw, dict):
            parsed.append(raw)
            continue
        text = re.sub(r"^\S+\s+\|\s?", "", str(raw).rstrip("\n"), count=1) if " | " in str(raw)[:60] else str(raw)
        text = text.strip()
        if not text:
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            level = re.search(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b", text)
            record = {"message": text, "level": level.group(1) if level else ""}
        parsed.append(record)
    return parsed


def log_error_groups(lines: Any, level: str = "ERROR", limit: int = 200) -> list[dict]:
    """The last `limit` lines at `level` grouped by message: [{message, count, endpoints, last_seen}], biggest first."""
    records = [r for r in parse_log_lines(lines) if str(r.get("level", "")).upper() == level.upper()][-int(limit) :]
    groups: dict[str, dict[str, Any]] = {}
    for record in records:
        message = str(record.get("message", ""))
        group = groups.setdefault(message, {"message": message, "count": 0, "endpoints": set(), "last_seen": None})
        group["count"] += 1
        if record.get("endpoint"):
            group["endpoints"].add(str(record["endpoint"]))
        group["last_seen"] = record.get("ts") or group["last_seen"]
    ranked = sorted(groups.values(), key=lambda g: (-g["count"], g["message"]))
    return [{**g, "endpoints": sorted(g["endpoints"])} for g in ranked]


def log_lines_matching(lines: Any, pattern: str, limit: int = 50) -> list[dict]:
    """The last `limit` lines whose message matches the regular expression (case-insensitive)."""
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise AnsibleFilterError(f"log_lines_matching: bad pattern {pattern!r}: {exc}") from exc
    matched = [r for r in parse_log_lines(lines) if regex.search(str(r.get("message", "")))]
    return matched[-int(limit) :]


def rate_limit_tenants(lines: Any, top: int = 5, platform: str = "") -> list[dict]:
    """Tenants ranked by their `event: rate_limit` log lines: [{tenant_id, lines, throttled}], most first."""
    counts: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    for record in parse_log_lines(lines):
        if record.get("event") != "rate_limit" or (platform and record.get("platform") != platform):
            continue
        tenant = str(record.get("tenant_id") or "?")
        counts[tenant] += 1
        if str(record.get("status_code")) == "429" or "throttled" in str(record.get("message", "")):
            throttled[tenant] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: int(top)]
    return [{"tenant_id": tenant, "lines": n, "throttled": throttled[tenant]} for tenant, n in ranked]


# ------------------------------------------------------------------------------------------- history
def rollout_verdict(
    releases: list[dict] | None, error_history: dict[str, Any] | None, threshold_pct: float = 5.0
) -> dict[str, Any]:
    """Whether the newest release is the likely cause: the 5xx ratio rose above the threshold after it.

    releases: platform `history` releases (newest first, each with `time` and `version`); error_history: a
    prometheus_query_info range answer of the 5xx ratio. The evidence carries both averages and the samples.
    """
    releases = list(releases or [])
    if not releases:
        return {"likely_cause": False, "verdict": "no rollout history: cannot tell", "evidence": {}}
    newest = releases[0]  # the platform lists its releases newest first
    if _time(newest.get("time")) is None:
        verdict = f"the newest rollout ({newest.get('revision')}, {newest.get('version')}) has no time: cannot tell"
        return {"likely_cause": False, "verdict": verdict, "evidence": {"release": newest.get("revision")}}
    deployed_at = _time(newest.get("time")) or 0.0
    points = [
        (float(t), float(v))
        for series in (error_history or {}).get("result") or []
        for t, v in series.get("values") or []
        if v is not None
    ]
    before = [v for t, v in points if t < deployed_at]
    after = [v for t, v in points if t >= deployed_at]
    evidence = {
        "release": newest.get("revision"),
        "version": newest.get("version"),
        "deployed_at": newest.get("time"),
        "threshold_pct": float(threshold_pct),
        "error_pct_before": round(100 * sum(before) / len(before), 2) if before else None,
        "error_pct_after": round(100 * sum(after) / len(after), 2) if after else None,
        "samples_before": len(before),
        "samples_after": len(after),
    }
    if not after:
        return {
            "likely_cause": False,
            "verdict": "no error-rate samples since the newest rollout",
            "evidence": evidence,
        }
    if not before:
        verdict = "no error-rate samples before the newest rollout (widen the history range): cannot tell"
        return {"likely_cause": False, "verdict": verdict, "evidence": evidence}
    after_pct = evidence["error_pct_after"]
    before_pct = evidence["error_pct_before"]
    # "Rose": over the alert threshold now, and at least double (and one point more than) what it was before.
    rose = after_pct > float(threshold_pct) and after_pct > max(2 * before_pct, before_pct + 1)
    if rose:
        verdict = (
            f"recent deploy is the likely cause: 5xx {after_pct}% since {newest.get('revision')} "
            f"({newest.get('version')}) at {newest.get('time')}, from {before_pct}% before"
        )
    else:
        verdict = (
            f"the newest rollout ({newest.get('revision')}, {newest.get('version')}) is not the likely cause: "
            f"5xx {after_pct}% after it, {before_pct}% before"
        )
    return {"likely_cause": rose, "verdict": verdict, "evidence": evidence}


def _image_tag(image: str) -> str:
    last = str(image or "").rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def k8s_releases(
    replicasets: list[dict] | None, container: str = "", limit: int = 10, owner_uid: str = ""
) -> list[dict]:
    """ReplicaSets of a Deployment as releases: [{revision, version, image, time, replicas, current}], newest first.

    owner_uid keeps only the ReplicaSets that Deployment owns (another Deployment's may share its labels).
    """
    found = []
    for rs in replicasets or []:
        meta = rs.get("metadata") or {}
        if owner_uid and owner_uid not in [ref.get("uid") for ref in meta.get("ownerReferences") or []]:
            continue
        revision = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if revision is None:
            continue
        containers = ((rs.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        chosen = [c for c in containers if c.get("name") == container] or containers
        image = chosen[0].get("image", "") if chosen else ""
        found.append(
            {
                "revision": str(revision),
                "version": _image_tag(image),
                "image": image,
                "time": meta.get("creationTimestamp"),
                "replicas": (rs.get("spec") or {}).get("replicas", 0),
                "name": meta.get("name"),
            }
        )
    found.sort(key=lambda r: int(r["revision"]) if r["revision"].isdigit() else 0, reverse=True)
    for index, release in enumerate(found):
        release["current"] = index == 0
    return found[: int(limit)]


def ecs_releases(definitions: list[dict] | None, deployments: list[dict] | None, container: str = "") -> list[dict]:
    """ECS task definition revisions (+ the service's deployments) as releases, newest first.

    A revision's time is when a deployment started with it (registeredAt when no deployment used it).
    """
    started: dict[str, dict] = {}
    for deployment in deployments or []:
        started[str(deployment.get("taskDefinition", "")).rsplit("/", 1)[-1]] = deployment
    found = []
    for definition in definitions or []:
        name = f"{definition.get('family')}:{definition.get('revision')}"
        containers = definition.get("containerDefinitions") or []
        chosen = [c for c in containers if c.get("name") == container] or containers
        image = chosen[0].get("image", "") if chosen else ""
        deployment = started.get(name) or {}
        found.append(
            {
                "revision": name,
                "version": _image_tag(image),
                "image": image,
                "time": _iso(deployment.get("createdAt") or definition.get("registeredAt")),
                "deployment": deployment.get("status"),
                "rollout_state": deployment.get("rolloutState"),
                "current": deployment.get("status") == "PRIMARY",
            }
        )
    found.sort(key=lambda r: int(r["revision"].rsplit(":", 1)[-1]), reverse=True)
    return found


def ecs_definition_summary(info: dict[str, Any]) -> dict[str, Any]:
    """A community.aws.ecs_taskdefinition_info result cut to family, revision, time and images (no env values)."""
    containers = info.get("container_definitions") or info.get("containerDefinitions") or []
    return {
        "family": info.get("family"),
        "revision": info.get("revision"),
        "registeredAt": _iso(info.get("registered_at") or info.get("registeredAt")),
        "containerDefinitions": [{"name": c.get("name"), "image": c.get("image")} for c in containers],
    }


def compose_releases(record: dict[str, Any] | None, current_version: str = "", updated_at: Any = None) -> list[dict]:
    """The Compose platform's deploy record (`.stratum-platform.json`: history of tags) as releases, newest first.

    The record keeps tags, not times: the newest release gets the record's modification time (`updated_at`),
    the moment the platform role last switched the tag.
    """
    record = record or {}
    entries = [e if isinstance(e, dict) else {"version": str(e)} for e in record.get("history") or []]
    if not entries and (current_version or record.get("version")):
        entries = [{"version": current_version or record.get("version")}]
    found = []
    for index, entry in enumerate(reversed(entries)):
        found.append(
            {
                "revision": str(len(entries) - index),
                "version": str(entry.get("version") or ""),
                "time": _iso(entry.get("time")) or (_iso(updated_at) if index == 0 and record else None),
                "current": index == 0 and (not current_version or str(entry.get("version")) == str(current_version)),
            }
        )
    return found


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc).isoformat()
    return str(value)


# -------------------------------------------------------------------------------------------- celery
def celery_workers_status(workers: dict[str, Any] | None) -> dict[str, Any]:
    """Severity of celery_info's workers: critical when none responded (also "0/0": nobody consumes the queues)."""
    workers = workers or {}
    responded = sorted(name for name, info in workers.items() if (info or {}).get("responded"))
    silent = sorted(name for name in workers if name not in responded)
    if not responded:
        severity = "critical"
        message = (
            f"no Celery worker responded ({len(silent)} expected did not: {', '.join(silent)})"
            if silent
            else "no Celery worker responded (0/0): nothing consumes the queues"
        )
    elif silent:
        severity, message = "warning", f"{len(responded)}/{len(workers)} workers responded; silent: {', '.join(silent)}"
    else:
        severity, message = "ok", f"{len(responded)}/{len(workers)} workers responded"
    return {"severity": severity, "responded": len(responded), "total": len(workers), "message": message}


class FilterModule:
    """stratum.ops triage filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "prometheus_value": prometheus_value,
            "prometheus_top_endpoints": prometheus_top_endpoints,
            "prometheus_failures": prometheus_failures,
            "duration_seconds": duration_seconds,
            "parse_log_lines": parse_log_lines,
            "log_error_groups": log_error_groups,
            "log_lines_matching": log_lines_matching,
            "rate_limit_tenants": rate_limit_tenants,
            "rollout_verdict": rollout_verdict,
            "k8s_releases": k8s_releases,
            "ecs_releases": ecs_releases,
            "ecs_definition_summary": ecs_definition_summary,
            "compose_releases": compose_releases,
            "celery_workers_status": celery_workers_status,
        }
