# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the predeploy_checklist role (the logic lives in module_utils/settings_check.py).

They run on the controller inside a no_log task: setting values go in, only check results
(names, pass/fail/skip, reasons without values) come out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.module_utils.settings_check import (
    DEFAULT_EMBED_FLAGS,
    DEFAULT_MIN_SECRET_LENGTH,
    DEFAULT_REQUIRED_SETTINGS,
    DEFAULT_UNIQUE_SECRETS,
    DEFAULT_WHATSAPP_FLAGS,
    check_settings,
    parse_dotenv,
    summarize,
)


def predeploy_settings_checks(
    settings: Mapping[str, Any] | None,
    environment: str = "production",
    required: list[str] | None = None,
    unique_secrets: list[str] | None = None,
    min_secret_length: int = DEFAULT_MIN_SECRET_LENGTH,
    embed_flags: list[str] | None = None,
    whatsapp_flags: list[str] | None = None,
    placeholders: list[str] | None = None,
) -> list[dict[str, str]]:
    """Settings checks of the Pre-Deploy Checklist; results never contain a value."""
    if settings is not None and not isinstance(settings, Mapping):
        # Say what the type is, never what it holds.
        raise AnsibleFilterError(f"predeploy_settings_checks expects a dict of settings, got {type(settings).__name__}")
    return check_settings(
        settings,
        environment=str(environment),
        required=DEFAULT_REQUIRED_SETTINGS if required is None else required,
        unique_secrets=DEFAULT_UNIQUE_SECRETS if unique_secrets is None else unique_secrets,
        min_secret_length=int(min_secret_length),
        embed_flags=DEFAULT_EMBED_FLAGS if embed_flags is None else embed_flags,
        whatsapp_flags=DEFAULT_WHATSAPP_FLAGS if whatsapp_flags is None else whatsapp_flags,
        extra_placeholders=placeholders or (),
    )


def predeploy_http_checks(results: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Checks from the registered results of an ansible.builtin.uri loop over {name, url} items."""
    checks = []
    for result in results or []:
        item = result.get("item") or {}
        name = str(item.get("name") or item.get("url"))
        url = str(item.get("url") or "")
        status = result.get("status")
        if result.get("skipped"):
            checks.append({"name": name, "status": "skip", "reason": f"{url} not checked"})
        elif status == 200:
            checks.append({"name": name, "status": "pass", "reason": f"{url} answered 200"})
        elif isinstance(status, int) and status > 0:
            checks.append({"name": name, "status": "fail", "reason": f"{url} answered {status}, expected 200"})
        else:
            detail = str(result.get("msg") or "no answer").splitlines()[0]
            # uri's msg starts with "Status code was -1 and not [200]"; the cause follows "Request failed:".
            detail = detail.split("Request failed:", 1)[-1].strip()[:200]
            checks.append({"name": name, "status": "fail", "reason": f"{url} unreachable: {detail}"})
    return checks


def predeploy_endpoints(base_url: str, health_paths: list[str], metrics_url: str = "") -> list[dict[str, str]]:
    """The {name, url} items to GET; url is empty when there is nothing to GET it from (no base URL)."""
    base = (base_url or "").rstrip("/")
    endpoints = [
        {"name": f"health:{path}", "url": f"{base}/{str(path).lstrip('/')}" if base else ""}
        for path in health_paths or []
    ]
    endpoints.append({"name": "metrics", "url": metrics_url or ""})
    return endpoints


def predeploy_unchecked(endpoints: list[Mapping[str, Any]], service: str = "api") -> list[dict[str, str]]:
    """Skip results for endpoints without a URL."""
    return [
        {
            "name": str(e.get("name")),
            "status": "skip",
            "reason": f"no URL (set predeploy_checklist_base_url or stratum_services.{service}.health_url)",
        }
        for e in endpoints or []
        if not e.get("url")
    ]


def predeploy_check_line(check: Mapping[str, Any]) -> str:
    """One summary line: `FAIL secret_length:SECRET_KEY - SECRET_KEY has 12 characters, ...`."""
    return f"{str(check.get('status', '')).upper():4} {check.get('name')} - {check.get('reason')}"


def dotenv_to_dict(text: str) -> dict[str, str]:
    """A Compose .env file's text as a dict of settings."""
    return parse_dotenv(text or "")


def predeploy_summary(checks: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts per status, the failed check names and ok."""
    return summarize(checks)


class FilterModule:
    """stratum.ops predeploy_checklist filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "predeploy_settings_checks": predeploy_settings_checks,
            "predeploy_http_checks": predeploy_http_checks,
            "predeploy_summary": predeploy_summary,
            "predeploy_endpoints": predeploy_endpoints,
            "predeploy_unchecked": predeploy_unchecked,
            "predeploy_check_line": predeploy_check_line,
            "dotenv_to_dict": dotenv_to_dict,
        }
