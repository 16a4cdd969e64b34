# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One remediation at a time: a lock per (environment, runbook) for changing runs.

In Redis (SET NX with a TTL, the holder's record as value, released only by its holder) where the
environment has one, else a lock file (O_EXCL create, the record with its expiry inside). A lock
older than its TTL is stale and taken over; `break_lock` takes it from a live holder and returns
whom it was taken from, for the audit line.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LockHeld(Exception):
    """Another run holds the lock; str() is the message an on-call engineer reads."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        super().__init__(held_message(holder))


def held_message(holder: dict[str, Any]) -> str:
    return (
        f"locked by {holder.get('owner', '?')} since {holder.get('since', '?')} for {holder.get('runbook', '?')} "
        f"({holder.get('environment', '?')}); wait for that run, or break a lock you know is dead with "
        "-e stratum_break_lock=true"
    )


def lock_name(environment: str, runbook: str) -> str:
    """A file- and key-safe name for the lock of a runbook in an environment."""
    safe = re.compile(r"[^A-Za-z0-9_.-]+")
    if not environment or not runbook:
        raise ValueError("a lock needs an environment and a runbook")
    return f"{safe.sub('_', environment)}.{safe.sub('_', runbook)}"


def new_record(
    owner: str, runbook: str, environment: str, run_id: str, ttl: int, now: Callable[[], float] = time.time
) -> dict[str, Any]:
    started = now()
    return {
        "owner": owner or "unknown",
        "runbook": runbook,
        "environment": environment,
        "run_id": run_id,
        "since": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(timespec="seconds"),
        "expires": started + ttl,
    }


def _decode(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        return {"owner": "an unreadable lock", "since": "?", "runbook": "?"}
    return value if isinstance(value, dict) else {}


class FileLock:
    """A lock file on the controller, created with O_EXCL; the record inside says when it goes stale."""

    def __init__(self, directory: str, name: str, now: Callable[[], float] = time.time) -> None:
        self.path = os.path.join(directory, name + ".lock")
        self.directory = directory
        self.now = now

    def holder(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return _decode(handle.read())
        except FileNotFoundError:
            return {}

    def _create(self, record: dict[str, Any]) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record))
        return True

    def acquire(self, record: dict[str, Any], break_lock: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """{acquired, reentrant, taken_from}; raises LockHeld when a live lock of another run is there."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        for _attempt in range(3):
            current = self.holder()
            if current and current.get("run_id") == record["run_id"]:
                return {"acquired": True, "reentrant": True, "taken_from": None}
            stale = bool(current) and float(current.get("expires") or 0) < self.now()
            if current and not stale and not break_lock:
                raise LockHeld(current)
            if dry_run:
                return {"acquired": True, "reentrant": False, "taken_from": current or None}
            if current:
                # Stale or broken: remove it, then race for a fresh O_EXCL create like everyone else.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
            if self._create(record):
                return {"acquired": True, "reentrant": False, "taken_from": current or None}
        raise LockHeld(self.holder() or {"owner": "another run", "since": "just now", "runbook": record["runbook"]})

    def release(self, run_id: str, dry_run: bool = False) -> bool:
        """Remove the lock when this run holds it; never someone else's."""
        if self.holder().get("run_id") != run_id:
            return False
        if not dry_run:
            os.unlink(self.path)
        return True


class RedisLock:
    """SET key record NX EX ttl; Redis expires a stale lock by itself; release compares the run id first."""

    def __init__(self, client: Any, name: str, prefix: str = "stratum:lock:") -> None:
        self.client = client
        self.key = prefix + name

    def holder(self) -> dict[str, Any]:
        return _decode(self.client.get(self.key))

    def acquire(
        self, record: dict[str, Any], ttl: int, break_lock: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        value = json.dumps(record)
        current = self.holder()
        if current and current.get("run_id") == record["run_id"]:
            if not dry_run:
                self.client.expire(self.key, ttl)
            return {"acquired": True, "reentrant": True, "taken_from": None}
        if current and not break_lock:
            raise LockHeld(current)
        if dry_run:
            return {"acquired": True, "reentrant": False, "taken_from": current or None}
        if break_lock and current:
            previous = _decode(self.client.set(self.key, value, ex=ttl, get=True))
            return {"acquired": True, "reentrant": False, "taken_from": previous or current}
        if self.client.set(self.key, value, nx=True, ex=ttl):
            return {"acquired": True, "reentrant": False, "taken_from": None}
        raise LockHeld(self.holder() or {"owner": "another run", "since": "just now", "runbook": record["runbook"]})

    def release(self, run_id: str, dry_run: bool = False) -> bool:
        current = self.client.get(self.key)
        if _decode(current).get("run_id") != run_id:
            return False
        if not dry_run:
            return bool(self.client.eval(RELEASE_SCRIPT, 1, self.key, current))
        return True
