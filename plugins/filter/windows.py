# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance windows: is now inside one of a runbook's declared windows?

A window is {days: [sun, ...], start: "HH:MM", end: "HH:MM", tz: "Europe/Berlin"} in the window's own time
zone (zoneinfo, so daylight-saving changes are the zone's). An end at or before the start crosses midnight:
the window opens on a listed day and closes the next day.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9 has no zoneinfo
    ZoneInfo = None  # type: ignore[assignment,misc]
    ZoneInfoNotFoundError = KeyError  # type: ignore[assignment,misc]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _day(value: Any, where: str) -> int:
    text = str(value).strip().lower()[:3]
    if text not in DAYS:
        raise AnsibleFilterError(f"{where}: days must be among {', '.join(DAYS)} (got {value!r})")
    return DAYS.index(text)


def _time(value: Any, where: str, key: str) -> datetime.time:
    match = HHMM.fullmatch(str(value).strip())
    if not match:
        raise AnsibleFilterError(f"{where}: {key} must be HH:MM (got {value!r})")
    return datetime.time(int(match.group(1)), int(match.group(2)))


def _zone(value: Any, where: str) -> datetime.tzinfo:
    name = str(value or "UTC")
    if ZoneInfo is None:
        raise AnsibleFilterError("maintenance windows need Python's zoneinfo (Python >= 3.9)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AnsibleFilterError(f"{where}: tz {name!r} is not a time zone name like UTC or Europe/Berlin") from None


def parse_window(window: Any, index: int = 0) -> dict[str, Any]:
    """A checked window: day numbers, start/end times, zone, and how it reads."""
    where = f"window {index + 1}"
    if not isinstance(window, dict):
        raise AnsibleFilterError(f"{where} must be a dict with days, start, end, tz (got {window!r})")
    days = window.get("days")
    if not days or not isinstance(days, (list, tuple)):
        raise AnsibleFilterError(f"{where}: days must be a non-empty list such as [sun] (got {days!r})")
    start = _time(window.get("start"), where, "start")
    end = _time(window.get("end"), where, "end")
    tz_name = str(window.get("tz") or "UTC")
    return {
        "days": sorted({_day(d, where) for d in days}),
        "start": start,
        "end": end,
        "tz": _zone(tz_name, where),
        "text": f"{','.join(DAYS[d] for d in sorted({_day(d, where) for d in days}))} "
        f"{start:%H:%M}-{end:%H:%M} {tz_name}",
    }


def _opens(window: dict[str, Any], now: datetime.datetime) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The window's occurrences that could contain `now` or come within the next 8 days (aware datetimes)."""
    local = now.astimezone(window["tz"])
    spans = []
    for offset in range(-1, 9):
        day = local.date() + datetime.timedelta(days=offset)
        if day.weekday() not in window["days"]:
            continue
        opens = datetime.datetime.combine(day, window["start"], tzinfo=window["tz"])
        closes_day = day + datetime.timedelta(days=1) if window["end"] <= window["start"] else day
        closes = datetime.datetime.combine(closes_day, window["end"], tzinfo=window["tz"])
        spans.append((opens, closes))
    return spans


def _now(now: Any) -> datetime.datetime:
    if now is None or now == "":
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(now, datetime.datetime):
        value = now
    else:
        try:
            value = datetime.datetime.fromisoformat(str(now).replace("Z", "+00:00"))
        except ValueError:
            raise AnsibleFilterError(f"now must be an ISO 8601 time (got {now!r})") from None
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def maintenance_window(windows: Any, now: Any = None, override: Any = False, name: str = "") -> dict[str, Any]:
    """Decide whether a changing run may go ahead now.

    windows: the runbook's list from stratum_maintenance_windows (None/empty: none declared).
    Returns configured, inside, allowed, override, window (the one we are in), next_start, now, reason.
    """
    moment = _now(now)
    forced = str(override).strip().lower() in ("1", "true", "yes", "on")
    label = f"stratum_maintenance_windows.{name}" if name else "stratum_maintenance_windows"
    result: dict[str, Any] = {
        "configured": bool(windows),
        "inside": False,
        "allowed": True,
        "override": forced,
        "window": "",
        "next_start": "",
        "now": moment.astimezone(datetime.timezone.utc).isoformat(timespec="seconds"),
        "reason": "",
    }
    if not windows:
        result["reason"] = f"not configured: set {label} to restrict this runbook to maintenance windows"
        return result
    if not isinstance(windows, (list, tuple)):
        raise AnsibleFilterError(f"{label} must be a list of windows (got {windows!r})")
    parsed = [parse_window(w, i) for i, w in enumerate(windows)]
    upcoming = []
    for window in parsed:
        for opens, closes in _opens(window, moment):
            if opens <= moment < closes:
                result.update(inside=True, window=window["text"])
                result["reason"] = f"inside the maintenance window {window['text']} (until {closes.isoformat()})"
                return result
            if opens > moment:
                upcoming.append((opens, window["text"]))
    nxt = min(upcoming) if upcoming else None
    result["next_start"] = nxt[0].isoformat() if nxt else ""
    outside = f"outside every maintenance window in {label} ({'; '.join(w['text'] for w in parsed)})"
    if nxt:
        outside += f"; the next opens {nxt[0].isoformat()}"
    if forced:
        result["reason"] = outside + "; run anyway: stratum_outside_window=true"
    else:
        result["allowed"] = False
        result["reason"] = outside + "; wait for it or run with -e stratum_outside_window=true (audited)"
    return result


class FilterModule:
    """stratum.ops maintenance window filters."""

    def filters(self) -> dict[str, Any]:
        return {"maintenance_window": maintenance_window}
