# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the one runbook report shape and its notifications (the logic lives in module_utils/report.py).

Documented in runbook_report.yml, endpoint_label.yml, report_summary.yml, audit_record.yml and
slack_message.yml beside this file (ansible-doc -t filter stratum.ops.<name>).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.module_utils import report as _report


def runbook_report(steps: list[Any] | None, runbook: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return _report.build_report(steps, runbook, **kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"runbook_report: {exc}") from exc


def endpoint_label(value: Any) -> str:
    return _report.endpoint_label(value)


def report_summary(report: Mapping[str, Any]) -> list[str]:
    try:
        return _report.report_summary(report)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"report_summary expects a runbook_report, missing {exc}") from exc


def audit_record(report: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
    return _report.audit_record(report, **kwargs)


def slack_message(report: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
    return _report.slack_message(report, **kwargs)


class FilterModule:
    """stratum.ops report filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "runbook_report": runbook_report,
            "endpoint_label": endpoint_label,
            "report_summary": report_summary,
            "audit_record": audit_record,
            "slack_message": slack_message,
        }
