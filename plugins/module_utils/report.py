# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One report shape for every runbook, built from the results the role registered.

`build_report()` turns registered task results (plus the failure a rescue saw) into
`runbook, environment, status, started, finished, endpoints, not_configured, steps, actions,
next_steps, findings`. Endpoints are shown as host:port/db or a URL without credentials; no
password ever reaches the report.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

REPORT_KEYS = (
    "runbook",
    "environment",
    "status",
    "check_mode",
    "started",
    "finished",
    "endpoints",
    "not_configured",
    "steps",
    "actions",
    "next_steps",
    "findings",
)
STEP_STATUSES = ("ok", "changed", "failed", "skipped")
MAX_ERROR_CHARS = 500

# user:password@ in any URL, and key=value / key: value secrets in free text (error messages).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
_SECRET_PAIRS = re.compile(r"(?i)\b(password|passwd|secret|token|api_key|apikey)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")
_DB_SCHEMES = ("redis", "rediss", "postgres", "postgresql", "amqp", "amqps", "mysql", "sqla+postgresql")


def redact(text: Any) -> str:
    """The text with URL credentials and key=value secrets replaced by ***."""
    text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", str(text))
    return _SECRET_PAIRS.sub(lambda m: m.group(1) + m.group(2) + "***", text)


def endpoint_label(value: Any) -> str:
    """How a report names an endpoint: host:port/db for databases and brokers, a URL without credentials otherwise.

    Never shows a password, a query string (it may hold a token) or a fragment; '' for an empty value.
    """
    if value is None:
        return ""
    if isinstance(value, Mapping):
        # A connection dict (host, port, db/database/dbname): host:port/db.
        host = value.get("host") or value.get("hostname") or ""
        port = value.get("port")
        db = value.get("db", value.get("database", value.get("dbname")))
        if not host:
            return ""
        label = str(host) + (f":{port}" if port not in (None, "") else "")
        return label + (f"/{db}" if db not in (None, "") else "")
    text = str(value).strip()
    if not text:
        return ""
    if "://" not in text:
        return redact(text)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return redact(text.split("?", 1)[0])
    hostport = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    if parts.scheme.lower().split("+")[0] in _DB_SCHEMES:
        path = parts.path.strip("/")
        return hostport + (f"/{path}" if path else "")
    return f"{parts.scheme}://{hostport}{parts.path}"


def error_text(result: Mapping[str, Any] | None) -> str | None:
    """The error of a failed task result in one short, redacted paragraph."""
    if not isinstance(result, Mapping):
        return None
    for key in ("msg", "stderr", "module_stderr", "exception"):
        value = result.get(key)
        if value:
            text = " ".join(str(value).split())
            if len(text) > MAX_ERROR_CHARS:
                text = text[: MAX_ERROR_CHARS - 3] + "..."
            return redact(text)
    if isinstance(result.get("results"), list):
        for item in result["results"]:
            if isinstance(item, Mapping) and item.get("failed"):
                return error_text(item)
    return "failed (no message)" if result.get("failed") else None


def step_status(result: Any) -> str:
    """ok / changed / failed / skipped from a registered result (None: the step was never reached)."""
    if not isinstance(result, Mapping) or not result:
        return "skipped"
    if result.get("failed") or result.get("unreachable"):
        return "failed"
    # A loop's result carries the aggregate changed/failed/skipped of its items; a module's own `results`
    # (pg_maintenance) is data, not items, so only the top-level flags count.
    if result.get("skipped"):
        return "skipped"
    return "changed" if result.get("changed") else "ok"


def _short_task_name(name: str) -> str:
    # "Redis memory | read memory" -> "read memory"; the role prefix is in `runbook` already.
    return name.split(" | ", 1)[-1].strip() if " | " in name else name.strip()


def build_steps(steps: list[Any] | None, failure: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Each {name, result} as {name, status, error}; the rescued failure is added when no step shows it."""
    built: list[dict[str, Any]] = []
    for step in steps or []:
        if not isinstance(step, Mapping) or not step.get("name"):
            raise ValueError(f"a step must be a dict with a name and a result, got {step!r}")
        result = step.get("result")
        status = step_status(result)
        entry: dict[str, Any] = {"name": str(step["name"]), "status": status, "error": None}
        if status == "failed":
            entry["error"] = error_text(result)
        built.append(entry)
    failure = failure or {}
    failed_task = str(failure.get("task") or "")
    if (failed_task or failure.get("result")) and not any(s["status"] == "failed" for s in built):
        name = _short_task_name(failed_task) or "unnamed task"
        error = error_text(failure.get("result")) or "failed"
        # The failure of a listed step that registered nothing (an included role) marks that step.
        listed = [s for s in built if s["name"] == name]
        if listed:
            listed[0].update(status="failed", error=error)
        else:
            built.append({"name": name, "status": "failed", "error": error})
    return built


def overall_status(steps: list[Mapping[str, Any]], failed: bool = False) -> str:
    if failed or any(s["status"] == "failed" for s in steps):
        return "failed"
    return "changed" if any(s["status"] == "changed" for s in steps) else "ok"


def merge_endpoints(
    role_endpoints: Mapping[str, Any] | None,
    preflight: Mapping[str, Any] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Endpoints the run used (preflight's, then the role's own) and the ones not configured.

    An empty role endpoint is reported as not configured: never guessed (no localhost).
    """
    preflight = preflight if isinstance(preflight, Mapping) else {}
    endpoints: dict[str, str] = {}
    not_configured: dict[str, str] = {}
    for name, value in (preflight.get("endpoints") or {}).items():
        label = endpoint_label(value)
        if label:
            endpoints[str(name)] = label
    for name, value in (preflight.get("not_configured") or {}).items():
        not_configured[str(name)] = redact(value)
    for name, value in (role_endpoints or {}).items():
        label = endpoint_label(value)
        if label:
            endpoints[str(name)] = label
            not_configured.pop(str(name), None)
        elif str(name) not in endpoints and str(name) not in not_configured:
            not_configured[str(name)] = "not configured"
    return endpoints, not_configured


def failure_next_steps(steps: list[Mapping[str, Any]], actions: list[str]) -> list[str]:
    """What an on-call engineer does after a failed run: fix the failing step, check what already changed."""
    failed = [s for s in steps if s["status"] == "failed"]
    advice = []
    if failed:
        step = failed[0]
        advice.append(f'Fix the cause of step "{step["name"]}" ({step["error"]}) and rerun the runbook.')
    changed = [s["name"] for s in steps if s["status"] == "changed"]
    if changed:
        advice.append(
            "These steps changed something before the failure; check them before rerunning: " + ", ".join(changed) + "."
        )
    elif actions:
        advice.append("No requested action changed anything before the failure.")
    return advice


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def build_report(
    steps: list[Any] | None,
    runbook: str,
    environment: str | None = None,
    started: str | None = None,
    finished: str | None = None,
    endpoints: Mapping[str, Any] | None = None,
    preflight: Mapping[str, Any] | None = None,
    actions: list[Any] | None = None,
    findings: Any = None,
    failure: Mapping[str, Any] | None = None,
    next_steps: list[Any] | None = None,
    check_mode: bool = False,
) -> dict[str, Any]:
    """The one report shape of every runbook (see extensions/schemas/stratum_report.schema.json)."""
    if not runbook:
        raise ValueError("runbook_report needs the runbook name")
    failure = failure if isinstance(failure, Mapping) and (failure.get("task") or failure.get("result")) else None
    built = build_steps(steps, failure)
    status = overall_status(built, failed=failure is not None)
    used, not_configured = merge_endpoints(endpoints, preflight)
    actions = [str(a) for a in (actions or [])]
    advice = [redact(s) for s in (next_steps or []) if s]
    if status == "failed":
        advice = failure_next_steps(built, actions) + advice
    preflight_env = preflight.get("environment") if isinstance(preflight, Mapping) else None
    return {
        "runbook": str(runbook),
        "environment": str(environment or preflight_env or "unknown"),
        "status": status,
        "check_mode": bool(check_mode),
        "started": str(started or _now()),
        "finished": str(finished or _now()),
        "endpoints": used,
        "not_configured": not_configured,
        "steps": built,
        "actions": actions,
        "next_steps": advice,
        "findings": findings if findings is not None else {},
    }


def report_summary(report: Mapping[str, Any]) -> list[str]:
    """A few lines for the human summary: status, endpoints, the failing step, next steps."""
    endpoints = ", ".join(f"{k} {v}" for k, v in sorted((report.get("endpoints") or {}).items())) or "none recorded"
    lines = [
        f"{report['runbook']} on {report['environment']}: {report['status']}"
        + (" (check mode)" if report.get("check_mode") else "")
        + f"; endpoints: {endpoints}."
    ]
    for name, why in sorted((report.get("not_configured") or {}).items()):
        lines.append(f"{name}: {why}.")
    for step in report.get("steps") or []:
        if step["status"] == "failed":
            lines.append(f'Failed step "{step["name"]}": {step["error"]}')
    lines += [f"Next: {s}" for s in report.get("next_steps") or []]
    notifications = report.get("notifications") or {}
    if notifications:
        lines.append("Notifications: " + "; ".join(f"{k} {v}" for k, v in sorted(notifications.items())) + ".")
    return lines


def audit_record(
    report: Mapping[str, Any],
    user: str | None = None,
    versions: Mapping[str, Any] | None = None,
    phase: str = "end",
    notifications: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit-log line: who ran which runbook where, with which versions and outcome; never a secret value."""
    record = {
        "time": _now(),
        "phase": phase,
        "runbook": report.get("runbook"),
        "environment": report.get("environment"),
        "status": report.get("status") if phase == "end" else "started",
        "check_mode": bool(report.get("check_mode")),
        "user": str(user or "unknown"),
        "actions": list(report.get("actions") or []),
        "versions": {str(k): redact(v) for k, v in (versions or {}).items() if v not in (None, "")},
        "endpoints": dict(report.get("endpoints") or {}),
        "started": report.get("started"),
        "finished": report.get("finished") if phase == "end" else None,
        "steps": [{"name": s["name"], "status": s["status"]} for s in report.get("steps") or []],
        "failed_step": next((s["name"] for s in report.get("steps") or [] if s["status"] == "failed"), None),
    }
    if notifications:
        record["notifications"] = {str(k): redact(v) for k, v in notifications.items()}
    return record


def slack_message(
    report: Mapping[str, Any],
    phase: str = "end",
    channel: str | None = None,
    user: str | None = None,
    versions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The incoming-webhook JSON body announcing a run (phase start) or its outcome (phase end)."""
    runbook = report.get("runbook")
    environment = report.get("environment")
    who = str(user or "unknown")
    actions = ", ".join(report.get("actions") or []) or "triage only"
    version_text = ", ".join(f"{k} {redact(v)}" for k, v in (versions or {}).items() if v not in (None, ""))
    check = " (check mode)" if report.get("check_mode") else ""
    if phase == "start":
        text = f"{runbook} starting on {environment} by {who}{check}: {actions}"
    else:
        text = f"{runbook} on {environment} by {who}{check}: {report.get('status')} ({actions})"
        failed = next((s for s in report.get("steps") or [] if s["status"] == "failed"), None)
        if failed:
            text += f"; failed step '{failed['name']}': {failed['error']}"
    if version_text:
        text += f" [{version_text}]"
    body: dict[str, Any] = {
        "text": text,
        "runbook": runbook,
        "environment": environment,
        "status": "started" if phase == "start" else report.get("status"),
        "phase": phase,
    }
    if channel:
        body["channel"] = str(channel)
    return body
