# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets Manager metadata for rotation decisions. Secret values are never read here."""

from __future__ import annotations

import datetime
from typing import Any


def _as_datetime(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)


def secret_age_facts(name: str, described: dict[str, Any] | None, now: datetime.datetime, max_age_days: int) -> dict:
    """Summarise DescribeSecret output: when the value last changed, how old it is, whether rotation is due.

    The value's age counts from the last rotation or change, else from creation.
    """
    if not described:
        return {"name": name, "exists": False, "due": False, "age_days": None, "reason": "secret does not exist"}
    created = _as_datetime(described.get("CreatedDate"))
    changed = _as_datetime(described.get("LastChangedDate"))
    rotated = _as_datetime(described.get("LastRotatedDate"))
    latest = max((d for d in (created, changed, rotated) if d is not None), default=None)
    age_days = round((now - latest).total_seconds() / 86400, 2) if latest else None
    deleted = described.get("DeletedDate") is not None
    due = bool(not deleted and age_days is not None and age_days >= max_age_days)
    if deleted:
        reason = "scheduled for deletion"
    elif age_days is None:
        reason = "no creation or change date reported"
    elif due:
        reason = f"value is {age_days:g} days old (max {max_age_days})"
    else:
        reason = f"value is {age_days:g} days old, within {max_age_days}"
    return {
        "name": described.get("Name", name),
        "arn": described.get("ARN", ""),
        "exists": True,
        "description": described.get("Description", ""),
        "created_date": created.isoformat() if created else None,
        "last_changed_date": changed.isoformat() if changed else None,
        "last_rotated_date": rotated.isoformat() if rotated else None,
        "age_days": age_days,
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "tags": {t["Key"]: t.get("Value", "") for t in described.get("Tags") or []},
        "deleted": deleted,
        "due": due,
        "reason": reason,
    }
