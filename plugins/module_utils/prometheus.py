# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus HTTP API queries for triage: several named queries in one call, each answered or explained.

A failure never raises: every query comes back as a dict with `ok`, `result`, `error` and `reason`
(unreachable, timeout, bad_query, http_error, bad_response, empty), so triage reports it and goes on.
No third-party library: ansible's open_url (urllib underneath), so it runs wherever the module runs.
"""

from __future__ import annotations

import json
import math
import socket
import time
import urllib.error
import urllib.parse
from typing import Any

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import SSLValidationError, open_url

DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def prometheus_common_argument_spec() -> dict[str, Any]:
    """Connection options of every Prometheus module: explicit option, then the environment."""
    return {
        "url": {"type": "str", "fallback": (env_fallback, ["PROMETHEUS_URL"])},
        "bearer_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PROMETHEUS_BEARER_TOKEN"])},
        "timeout": {"type": "float", "default": 10.0},
        "validate_certs": {"type": "bool", "default": True},
    }


def validate_connection(params: dict[str, Any]) -> str:
    """The problem with the connection options in words, or '' when they are usable."""
    url = params.get("url") or ""
    if not url:
        return "url is required (or PROMETHEUS_URL in the environment): the Prometheus that scrapes the service"
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return f"url must be an http(s) URL like http://prometheus:9090, got {url!r}"
    if not params.get("timeout") or params["timeout"] <= 0:
        return f"timeout must be a positive number of seconds, got {params.get('timeout')!r}"
    return ""


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as '30s', '5m', '1h30m'."""
    total, number, rest = 0.0, "", str(text).strip()
    if not rest:
        raise ValueError("empty duration")
    index = 0
    while index < len(rest):
        char = rest[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if rest[index : index + 2] == "ms" else char
        if unit not in DURATION_UNITS or not number:
            raise ValueError(f"not a duration: {text!r}")
        total += float(number) * DURATION_UNITS[unit]
        number = ""
        index += len(unit)
    if number:
        raise ValueError(f"duration {text!r} needs a unit (s, m, h)")
    return total


def _number(text: Any) -> float | None:
    """A sample value as a float; NaN and infinities (no data, division by zero) as None."""
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


def normalise_result(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Prometheus `data` as [{metric, value}] (instant) or [{metric, values: [[t, v], ...]}] (range)."""
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return [{"metric": {}, "value": _number(result[1])}]
    if kind == "vector":
        return [{"metric": s.get("metric", {}), "value": _number(s["value"][1])} for s in result]
    if kind == "matrix":
        return [
            {"metric": s.get("metric", {}), "values": [[float(t), _number(v)] for t, v in s.get("values", [])]}
            for s in result
        ]
    raise ValueError(f"unexpected resultType {kind!r}")


class PrometheusClient:
    """GET /api/v1/query and /api/v1/query_range with a timeout and an optional bearer token."""

    def __init__(self, url: str, timeout: float = 10.0, bearer_token: str = "", validate_certs: bool = True) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.bearer_token = bearer_token
        self.validate_certs = validate_certs

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.bearer_token}"} if self.bearer_token else {}
        response = open_url(
            f"{self.url}{path}?{urllib.parse.urlencode(params)}",
            headers=headers,
            timeout=self.timeout,
            validate_certs=self.validate_certs,
        )
        with response:
            return json.loads(response.read())

    def run(self, spec: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        """Run one query spec ({query, range?, step?}); never raises, explains a failure in `reason`."""
        query = spec["query"]
        outcome: dict[str, Any] = {"query": query, "ok": False, "result": [], "error": None, "reason": None}
        params = {"query": query}
        path = "/api/v1/query"
        try:
            if spec.get("range"):
                end = now if now is not None else time.time()
                span = parse_duration(spec["range"])
                step = parse_duration(spec.get("step") or "15s")
                params.update(start=f"{end - span:.3f}", end=f"{end:.3f}", step=f"{step:g}")
                path = "/api/v1/query_range"
        except ValueError as exc:
            return {**outcome, "error": str(exc), "reason": "bad_query"}
        try:
            body = self._get(path, params)
        except urllib.error.HTTPError as exc:
            detail = _error_body(exc)
            reason = "bad_query" if exc.code in (400, 422) else "http_error"
            return {**outcome, "error": f"HTTP {exc.code}: {detail}", "reason": reason}
        except (TimeoutError, socket.timeout):
            return {**outcome, "error": f"no answer within {self.timeout:g}s from {self.url}", "reason": "timeout"}
        except (UrlConnectionError, SSLValidationError) as exc:
            return {**outcome, "error": f"cannot reach {self.url}: {exc}", "reason": "unreachable"}
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                return {**outcome, "error": f"no answer within {self.timeout:g}s from {self.url}", "reason": "timeout"}
            return {**outcome, "error": f"cannot reach {self.url}: {exc.reason}", "reason": "unreachable"}
        except (OSError, ValueError) as exc:
            return {**outcome, "error": f"cannot read an answer from {self.url}: {exc}", "reason": "bad_response"}
        if body.get("status") != "success":
            return {**outcome, "error": str(body.get("error") or body), "reason": "bad_query"}
        try:
            result = normalise_result(body.get("data") or {})
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            return {**outcome, "error": f"unexpected answer: {exc}", "reason": "bad_response"}
        if not result:
            return {
                **outcome,
                "error": "no samples match (the metric is not scraped or has no data)",
                "reason": "empty",
            }
        return {**outcome, "ok": True, "result": result}

    def run_all(self, specs: list[dict[str, Any]], now: float | None = None) -> dict[str, dict[str, Any]]:
        """Run named queries; once Prometheus is unreachable the rest are reported the same without waiting."""
        answers: dict[str, dict[str, Any]] = {}
        down: dict[str, Any] | None = None
        for spec in specs:
            if down is not None:
                answers[spec["name"]] = {**down, "query": spec["query"]}
                continue
            answers[spec["name"]] = answer = self.run(spec, now=now)
            if answer["reason"] in ("unreachable", "timeout"):
                down = answer
        return answers


def _error_body(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        return str(body.get("error") or body)
    except (OSError, ValueError):
        return str(exc.reason)
