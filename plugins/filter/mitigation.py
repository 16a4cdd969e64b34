# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Revertible mitigations: records, checks and revert plans (the logic lives in module_utils/mitigation.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.module_utils import mitigation as _m


def _call(name: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except _m.MitigationError as exc:
        raise AnsibleFilterError(f"{name}: {exc}") from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError(f"{name}: unexpected input ({exc})") from exc


def mitigation_read(
    reads: Mapping[str, Any], platform: str, runbook: str, names: Any = None, service: str = ""
) -> dict[str, Any]:
    """The platform's recall result from what its tasks read (deployment/hpa, definition/tags, env file/record file)."""
    if not isinstance(reads, Mapping):
        raise AnsibleFilterError(
            f"mitigation_read expects a dict of what the platform read (got {type(reads).__name__})"
        )
    return _call(
        "mitigation_read",
        _m.read_current,
        platform,
        runbook,
        names=names,
        deployment=reads.get("deployment"),
        container=str(reads.get("container") or ""),
        hpa=reads.get("hpa"),
        definition=reads.get("definition"),
        tags=reads.get("tags"),
        env_text=str(reads.get("env_text") or ""),
        record_text=reads.get("record_text"),
        service=service,
        replicas=reads.get("replicas"),
    )


def mitigation_encode(
    record: Mapping[str, Any], platform: str, runbook: str, service: str = "", existing: Any = None
) -> dict[str, Any]:
    """What the platform's remember operation writes: annotations, tags to set/remove, or the file's content."""
    return _call("mitigation_encode", _m.encode, record, platform, runbook, service=service, existing=existing)


def mitigation_changes(recalled: Mapping[str, Any] | None, action: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The change entries an action made, with the previous values from the recall before it.

    action env: wanted (dict), changed_keys (the set_env result's); scale: replicas, min_replicas, max_replicas;
    flag: key, value, result (the redis_flag result), at.
    """
    recalled = recalled or {}
    if action == "env":
        return _call(
            "mitigation_changes",
            _m.env_changes,
            recalled.get("env") or {},
            kwargs.get("wanted") or {},
            changed_keys=kwargs.get("changed_keys"),
            refs=recalled.get("env_refs"),
        )
    if action == "scale":
        return _call(
            "mitigation_changes",
            _m.scale_changes,
            recalled,
            replicas=kwargs.get("replicas"),
            min_replicas=kwargs.get("min_replicas"),
            max_replicas=kwargs.get("max_replicas"),
        )
    if action == "flag":
        return _call(
            "mitigation_changes",
            _m.flag_change,
            str(kwargs.get("key") or ""),
            kwargs.get("value", "true"),
            kwargs.get("result"),
            at=kwargs.get("at"),
        )
    raise AnsibleFilterError(f"mitigation_changes: action must be env, scale or flag (got {action!r})")


def mitigation_record(
    existing: Mapping[str, Any] | None,
    changes: Any,
    runbook: str,
    service: str,
    run: str,
    at: Any = None,
    by: str = "",
    environment: str = "",
) -> dict[str, Any]:
    """The service's record after this run's changes (unchanged when there are none)."""
    return _call(
        "mitigation_record",
        _m.new_record,
        existing,
        changes,
        runbook,
        service,
        run,
        at=at,
        by=by,
        environment=environment,
    )


def mitigation_scale_check(
    recalled: Mapping[str, Any],
    replicas: Any,
    direction: str = "any",
    floor: Any = 1,
    service: str = "",
    floor_var: str = "min_replicas",
    min_replicas: Any = None,
    max_replicas: Any = None,
) -> dict[str, Any]:
    """Whether a scale from the recalled size to replicas may go ahead (direction, floor, HPA bounds)."""
    recalled = recalled or {}
    return _call(
        "mitigation_scale_check",
        _m.scale_check,
        recalled.get("replicas"),
        replicas,
        direction=direction,
        floor=floor,
        hpa=recalled.get("hpa"),
        service=service,
        floor_var=floor_var,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
    )


def mitigation_pool_check(
    activity: Mapping[str, Any], pool_size: Any, recalled: Mapping[str, Any], service: str = "", variable: str = ""
) -> dict[str, Any]:
    """Whether pool_size x the service's replicas fits PostgreSQL's connections (a pg_activity_info result)."""
    activity = activity or {}
    recalled = recalled or {}
    return _call(
        "mitigation_pool_check",
        _m.pool_check,
        pool_size,
        recalled.get("replicas"),
        activity.get("max_connections"),
        superuser_reserved=activity.get("superuser_reserved_connections"),
        reserved=activity.get("reserved_connections"),
        hpa=recalled.get("hpa"),
        service=service,
        variable=variable or "DATABASE_POOL_SIZE",
    )


def mitigation_revert_plan(
    recalled: Mapping[str, Any],
    runbook: str,
    run: str = "",
    at: Any = None,
    by: str = "",
    flags: Mapping[str, Any] | None = None,
    now: Any = None,
) -> dict[str, Any]:
    """What reverting the runbook's latest changing run restores, leaves alone, and the records to write."""
    return _call(
        "mitigation_revert_plan", _m.revert_plan, recalled, runbook, run=run, at=at, by=by, flags=flags, now=now
    )


class FilterModule:
    """stratum.ops mitigation filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "mitigation_read": mitigation_read,
            "mitigation_encode": mitigation_encode,
            "mitigation_changes": mitigation_changes,
            "mitigation_record": mitigation_record,
            "mitigation_scale_check": mitigation_scale_check,
            "mitigation_pool_check": mitigation_pool_check,
            "mitigation_revert_plan": mitigation_revert_plan,
        }
