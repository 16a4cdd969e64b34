# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One remediation at a time: a lock per (environment, service or runbook) for changing runs.

In Redis (SET NX with a TTL, the holder's record as value, taken over and released only by compare-and-set)
where the environment has one, else a lock file (read-decide-write under an flock of the directory's guard
file, the record with its expiry inside). A lock is stale when its TTL has passed, or when its run is known
to be gone: the record names the controller host and the ansible-playbook process that took it, and a run on
the same host sees that process is no longer there. A stale lock is taken over; `break_lock` takes a live one;
both return whom it was taken from, for the audit line.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows is never a controller
    fcntl = None

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Take over (stale or broken) only the exact record we decided about: two runs finding the same dead lock never
# both win.
TAKE_OVER_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class LockHeld(Exception):
    """Another run holds the lock; str() is the message an on-call engineer reads."""

    def __init__(self, holder: dict[str, Any], scope: str | None = None) -> None:
        self.holder = holder
        self.scope = scope
        super().__init__(held_message(holder, scope))


def held_message(holder: dict[str, Any], scope: str | None = None) -> str:
    """`locked by <who> since <when> for <runbook> (<environment>[: <scope>][, pid N on host])` and what to do."""
    where = str(holder.get("environment", "?"))
    if scope and scope != holder.get("runbook"):
        where += f": {scope}"
    if holder.get("pid") and holder.get("host"):
        where += f", ansible-playbook pid {holder['pid']} on {holder['host']}"
    return (
        f"locked by {holder.get('owner', '?')} since {holder.get('since', '?')} for {holder.get('runbook', '?')} "
        f"({where}); wait for that run, or break a lock you know is dead with -e stratum_break_lock=true"
    )


def lock_name(environment: str, scope: str) -> str:
    """A file- and key-safe name for the lock of one service or runbook in an environment."""
    if not environment or not scope:
        raise ValueError("a lock needs an environment and a runbook (or service)")
    return f"{_SAFE.sub('_', environment)}.{_SAFE.sub('_', scope)}"


def lock_scopes(runbook: str, scope: Sequence[str] | None) -> list[str]:
    """What a run locks: the services it changes (sorted: every run takes them in one order), else its runbook."""
    names = sorted({str(s).strip() for s in scope or [] if str(s).strip()})
    return names or [runbook]


def new_record(
    owner: str,
    runbook: str,
    environment: str,
    run_id: str,
    ttl: int,
    now: Callable[[], float] = time.time,
    host: str | None = None,
    pid: int | None = None,
    scope: Sequence[str] | None = None,
) -> dict[str, Any]:
    started = now()
    return {
        "owner": owner or "unknown",
        "runbook": runbook,
        "environment": environment,
        "scope": list(scope or [runbook]),
        "run_id": run_id,
        "host": host,
        "pid": pid,
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


# ------------------------------------------------------------------ is the holder's run still there?


def _cmdline(pid: int, proc: str) -> list[str] | None:
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            return [arg.decode("utf-8", "replace") for arg in handle.read().split(b"\0") if arg]
    except OSError:
        return None


def _parent(pid: int, proc: str) -> int | None:
    try:
        with open(os.path.join(proc, str(pid), "stat"), encoding="utf-8", errors="replace") as handle:
            # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _is_playbook(cmdline: list[str] | None) -> bool:
    return bool(cmdline) and any(os.path.basename(arg) == "ansible-playbook" for arg in cmdline[:3])


def playbook_pid(start: int | None = None, proc: str = "/proc") -> int | None:
    """The ansible-playbook process this module runs under (the outermost one among its ancestors), when it runs
    on the controller and /proc tells; else None (then only the TTL makes the lock stale)."""
    pid = start if start is not None else os.getppid()
    found = None
    for _depth in range(64):
        if not pid or pid <= 1:
            break
        if _is_playbook(_cmdline(pid, proc)):
            found = pid
        pid = _parent(pid, proc)
    return found


def process_alive(pid: int, proc: str = "/proc") -> bool:
    """Whether pid is still an ansible-playbook process (a reused pid running something else counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return True  # cannot tell: assume it lives (only the TTL then frees the lock)
    cmdline = _cmdline(pid, proc)
    if cmdline is None:
        return not os.path.isdir(proc) or os.path.isdir(os.path.join(proc, str(pid)))
    return _is_playbook(cmdline)


def stale_reason(
    holder: dict[str, Any],
    now: float,
    host: str | None = None,
    alive: Callable[[int], bool] = process_alive,
    expiry: bool = True,
) -> str | None:
    """Why a held lock may be taken over ('expired', 'its run is gone'), or None while it is live.

    `expiry=False` for Redis, whose key TTL is the expiry (the record's copy is for people reading it).
    """
    if not holder:
        return None
    try:
        expires = float(holder.get("expires") or 0)
    except (TypeError, ValueError):
        expires = 0.0
    if expiry and expires and expires < now:
        return "expired"
    pid = holder.get("pid")
    if host and pid and holder.get("host") == host and isinstance(pid, int) and not alive(pid):
        return "its run is gone"
    return None


def _outcome(current: dict[str, Any], reason: str | None, reentrant: bool = False) -> dict[str, Any]:
    return {
        "acquired": True,
        "reentrant": reentrant,
        "taken_from": dict(current, because=reason) if current and not reentrant else None,
    }


class FileLock:
    """A lock file on the controller; every read-decide-write happens under an flock of the directory's guard."""

    def __init__(
        self,
        directory: str,
        name: str,
        now: Callable[[], float] = time.time,
        host: str | None = None,
        alive: Callable[[int], bool] = process_alive,
        scope: str | None = None,
    ) -> None:
        self.path = os.path.join(directory, name + ".lock")
        self.scope = scope
        self.directory = directory
        self.now = now
        self.host = host
        self.alive = alive

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.directory, ".guard"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    def holder(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return _decode(handle.read())
        except FileNotFoundError:
            return {}

    def _write(self, record: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".lock-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(record))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def acquire(
        self, record: dict[str, Any], ttl: int | None = None, break_lock: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """{acquired, reentrant, taken_from}; raises LockHeld when a live lock of another run is there."""
        with self._guard():
            current = self.holder()
            if current and current.get("run_id") == record["run_id"]:
                return _outcome(current, None, reentrant=True)
            reason = stale_reason(current, self.now(), self.host, self.alive)
            if current and not reason and not break_lock:
                raise LockHeld(current, self.scope)
            if not dry_run:
                self._write(record)
            return _outcome(current, reason or ("broken" if current else None))

    def release(self, run_id: str, dry_run: bool = False) -> bool:
        """Remove the lock when this run holds it; never someone else's."""
        if not os.path.isdir(self.directory):
            return False
        with self._guard():
            if self.holder().get("run_id") != run_id:
                return False
            if not dry_run:
                os.unlink(self.path)
            return True


class RedisLock:
    """SET key record NX EX ttl; Redis expires a stale lock by itself; take-over and release compare the record."""

    def __init__(
        self,
        client: Any,
        name: str,
        prefix: str = "stratum:lock:",
        now: Callable[[], float] = time.time,
        host: str | None = None,
        alive: Callable[[int], bool] = process_alive,
        scope: str | None = None,
    ) -> None:
        self.client = client
        self.key = prefix + name
        self.scope = scope
        self.now = now
        self.host = host
        self.alive = alive

    def holder(self) -> dict[str, Any]:
        return _decode(self.client.get(self.key))

    def acquire(
        self, record: dict[str, Any], ttl: int, break_lock: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        value = json.dumps(record)
        for _attempt in range(3):
            raw = self.client.get(self.key)
            current = _decode(raw)
            if current and current.get("run_id") == record["run_id"]:
                if not dry_run:
                    self.client.expire(self.key, ttl)
                return _outcome(current, None, reentrant=True)
            reason = stale_reason(current, self.now(), self.host, self.alive, expiry=False)
            if current and not reason and not break_lock:
                raise LockHeld(current, self.scope)
            if dry_run:
                return _outcome(current, reason or ("broken" if current else None))
            if raw is None:
                if self.client.set(self.key, value, nx=True, ex=ttl):
                    return _outcome({}, None)
            elif self.client.eval(TAKE_OVER_SCRIPT, 1, self.key, raw, value, ttl):
                return _outcome(current, reason or "broken")
            # Someone else changed the lock between our read and write: decide again on what is there now.
        raise LockHeld(
            self.holder() or {"owner": "another run", "since": "just now", "runbook": record["runbook"]}, self.scope
        )

    def release(self, run_id: str, dry_run: bool = False) -> bool:
        current = self.client.get(self.key)
        if _decode(current).get("run_id") != run_id:
            return False
        if not dry_run:
            return bool(self.client.eval(RELEASE_SCRIPT, 1, self.key, current))
        return True


def acquire_all(
    locks: Sequence[Any], record: dict[str, Any], ttl: int, break_lock: bool = False, dry_run: bool = False
) -> dict[str, Any]:
    """Take every lock of the run (one per scope, in the given order) or none: a refusal gives back what was taken."""
    taken: list[Any] = []
    outcomes: list[dict[str, Any]] = []
    try:
        for lock in locks:
            outcome = lock.acquire(record, ttl, break_lock=break_lock, dry_run=dry_run)
            outcomes.append(outcome)
            if not outcome["reentrant"]:
                taken.append(lock)
    except LockHeld:
        if not dry_run:
            for lock in taken:
                with contextlib.suppress(Exception):
                    lock.release(record["run_id"])
        raise
    return {
        "acquired": True,
        "reentrant": all(o["reentrant"] for o in outcomes),
        "taken_from": [o["taken_from"] for o in outcomes if o["taken_from"]],
    }


def release_all(locks: Sequence[Any], run_id: str, dry_run: bool = False) -> bool:
    """Give back every lock this run holds; True when at least one was removed."""
    released = False
    for lock in locks:
        released = lock.release(run_id, dry_run=dry_run) or released
    return released


def lock_note(
    held: dict[str, Any] | None,
    refusal: str = "",
    check_mode: bool = False,
    changes: bool = False,
    enabled: bool = True,
    released: bool = False,
) -> str:
    """The report's (and audit line's) one line about the lock: refused, not taken and why, or held (from whom)."""
    if refusal:
        return f"refused: {refusal}"
    if not held or not held.get("acquired"):
        if check_mode:
            why = "check mode"
        elif not changes:
            why = "triage only"
        elif not enabled:
            why = "stratum_lock is off"
        else:
            why = "not asked for"
        return f"not taken ({why})"
    first = f"held {held.get('lock', '')}".rstrip()
    if held.get("redis_error"):
        first += f" (Redis could not hold it: {held['redis_error']}; a lock file on the controller instead)"
    parts = [first]
    for taken in held.get("taken_from") or []:
        because = taken.get("because") or "broken"
        verb = "broke the lock of" if because == "broken" else f"took over the stale lock ({because}) of"
        who = f"{taken.get('owner', '?')} since {taken.get('since', '?')} for {taken.get('runbook', '?')}"
        parts.append(f"{verb} {who}")
    parts.append("released" if released else "NOT released (expires after its TTL)")
    return ", ".join(parts)
