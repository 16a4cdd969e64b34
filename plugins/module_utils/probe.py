# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability and latency of a runbook's dependencies: an HTTP GET (any answer below 500 is up) or a TCP connect."""

from __future__ import annotations

import socket
import time
import urllib.error
from typing import Any

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import SSLValidationError, open_url


def split_host_port(target: str) -> tuple[str, int]:
    """'db.internal:5432' -> ('db.internal', 5432); '[::1]:6379' -> ('::1', 6379)."""
    host, sep, port = str(target).rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"tcp target must be host:port, got {target!r}")
    return host.strip("[]"), int(port)


def probe(dependency: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Probe one {name, url} or {name, tcp}; never raises: a failure is `up: false` with the error."""
    url, tcp = dependency.get("url"), dependency.get("tcp")
    result: dict[str, Any] = {
        "name": dependency.get("name") or url or tcp,
        "kind": "http" if url else "tcp",
        "target": url or tcp,
        "up": False,
        "status": None,
        "latency_ms": None,
        "error": None,
    }
    started = time.monotonic()
    try:
        if url:
            try:
                with open_url(
                    url, method="GET", timeout=timeout, validate_certs=dependency.get("validate_certs", True)
                ) as r:
                    result["status"] = r.status
            except urllib.error.HTTPError as exc:  # an answer all the same
                result["status"] = exc.code
            result["up"] = result["status"] < 500
        else:
            host, port = split_host_port(tcp)
            with socket.create_connection((host, port), timeout=timeout):
                result["status"] = "connected"
            result["up"] = True
    except (OSError, UrlConnectionError, SSLValidationError, ValueError, urllib.error.URLError) as exc:
        result["error"] = str(getattr(exc, "reason", exc)) or type(exc).__name__
    result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result
