# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection triage (pg_stat_activity) and terminating the idle sessions that exhaust max_connections."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    PostgresError,
    database_error,
    fetch_dicts,
    isoformat,
)

try:
    import psycopg2
except ImportError:  # the module reports the missing library through ensure_psycopg2()
    psycopg2 = None

CLIENT_STATES = (
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
)

SETTINGS_SQL = """
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved_connections
"""

SESSIONS_SQL = """
SELECT pid, datname, usename, application_name, client_addr::text AS client_addr, backend_type, state,
       wait_event_type, wait_event, backend_start, xact_start, query_start, state_change, query,
       extract(epoch FROM now() - query_start)::float AS query_seconds,
       extract(epoch FROM now() - state_change)::float AS state_seconds,
       extract(epoch FROM now() - xact_start)::float AS xact_seconds,
       pg_blocking_pids(pid) AS blocked_by,
       pid = pg_backend_pid() AS is_self
FROM pg_stat_activity
"""


def _cut(query: str | None, max_length: int) -> str | None:
    if query is None or max_length <= 0 or len(query) <= max_length:
        return query
    return query[:max_length] + "..."


def blocking_chains(blocked_by: dict[int, list[int]]) -> list[dict[str, Any]]:
    """For each blocked pid, the chain of pids up to one that is not itself blocked (cycles cut)."""
    chains = []
    for pid in sorted(blocked_by):
        chain, current = [pid], pid
        while blocked_by.get(current):
            # Follow a blocker that is itself waiting, so the chain reaches the root holder.
            waiting = [b for b in blocked_by[current] if blocked_by.get(b)]
            nxt = min(waiting or blocked_by[current])
            if nxt in chain:
                break  # a deadlock cycle; PostgreSQL's detector will break it
            chain.append(nxt)
            current = nxt
        chains.append({"pid": pid, "blocked_by": sorted(blocked_by[pid]), "chain": chain, "root_blocker": chain[-1]})
    return chains


def usage_pct(total: int, max_connections: int) -> float:
    """Client connections as a percentage of max_connections (what DatabaseConnectionsHigh alerts on)."""
    return round(100.0 * total / max_connections, 2) if max_connections else 0.0


def activity_report(conn: Any, *, long_running_seconds: float = 30, query_max_length: int = 200) -> dict[str, Any]:
    """Connection usage, counts, long-running queries, idle-in-transaction sessions and lock chains."""
    try:
        settings = fetch_dicts(conn, SETTINGS_SQL)[0]
        sessions = fetch_dicts(conn, SESSIONS_SQL)
    except psycopg2.Error as exc:
        raise database_error(exc, "reading pg_stat_activity") from None
    clients = [s for s in sessions if s["backend_type"] == "client backend"]
    total = len(clients)
    max_conn = settings["max_connections"]
    reserved = settings["superuser_reserved_connections"] + settings["reserved_connections"]

    def session_view(s: dict[str, Any], seconds_key: str) -> dict[str, Any]:
        return {
            "pid": s["pid"],
            "usename": s["usename"],
            "datname": s["datname"],
            "application_name": s["application_name"],
            "client_addr": s["client_addr"],
            "state": s["state"],
            "duration_seconds": round(s[seconds_key] or 0.0, 3),
            "wait_event_type": s["wait_event_type"],
            "wait_event": s["wait_event"],
            "query": _cut(s["query"], query_max_length),
        }

    long_running = sorted(
        (
            session_view(s, "query_seconds")
            for s in clients
            if s["state"] == "active" and not s["is_self"] and (s["query_seconds"] or 0) >= long_running_seconds
        ),
        key=lambda v: v["duration_seconds"],
        reverse=True,
    )
    idle_in_tx = sorted(
        (
            {**session_view(s, "state_seconds"), "xact_seconds": round(s["xact_seconds"] or 0.0, 3)}
            for s in clients
            if (s["state"] or "").startswith("idle in transaction")
        ),
        key=lambda v: v["duration_seconds"],
        reverse=True,
    )
    blocked = {s["pid"]: list(s["blocked_by"]) for s in sessions if s["blocked_by"]}
    by_pid = {s["pid"]: s for s in sessions}
    chains = blocking_chains(blocked)
    for chain in chains:
        waiting = by_pid.get(chain["pid"], {})
        root = by_pid.get(chain["root_blocker"], {})
        chain.update(
            usename=waiting.get("usename"),
            wait_event_type=waiting.get("wait_event_type"),
            wait_seconds=round(waiting.get("query_seconds") or 0.0, 3),
            query=_cut(waiting.get("query"), query_max_length),
            root_blocker_usename=root.get("usename"),
            root_blocker_state=root.get("state"),
            root_blocker_query=_cut(root.get("query"), query_max_length),
        )
    return {
        "max_connections": max_conn,
        "superuser_reserved_connections": settings["superuser_reserved_connections"],
        "reserved_connections": reserved,
        "total": total,
        "available": max(max_conn - reserved - total, 0),
        "usage_pct": usage_pct(total, max_conn),
        "by_usename": dict(Counter(s["usename"] or "" for s in clients)),
        "by_application_name": dict(Counter(s["application_name"] or "" for s in clients)),
        "by_state": dict(Counter(s["state"] or "unknown" for s in clients)),
        "by_database": dict(Counter(s["datname"] or "" for s in clients)),
        "long_running": long_running,
        "idle_in_transaction": idle_in_tx,
        "blocked": chains,
        "collected_at": isoformat(fetch_dicts(conn, "SELECT now() AS t")[0]["t"]),
    }


TERMINATE_CANDIDATES_SQL = """
SELECT pid, usename, datname, application_name, state,
       round(extract(epoch FROM now() - state_change)::numeric, 3)::float AS idle_seconds
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND pid <> pg_backend_pid()
  AND (%(all_users)s OR usename = %(usename)s)
  AND state = ANY(%(states)s::text[])
  AND now() - state_change >= make_interval(secs => %(idle_seconds)s)
  AND (%(application_name)s::text IS NULL OR application_name = %(application_name)s)
  AND (%(database)s::text IS NULL OR datname = %(database)s)
  {pids}
ORDER BY state_change, pid
"""


def validate_terminate_filters(
    *, usename: str | None, all_users: bool, states: list[str], idle_seconds: float, max_terminations: int | None
) -> None:
    """Refuse filters that are missing or nonsensical before touching the server."""
    if not usename and not all_users:
        raise PostgresError(
            "usename is required (the role whose sessions to terminate); set all_users=true to match every role"
        )
    if usename and all_users:
        raise PostgresError("usename and all_users=true are mutually exclusive: name one role or all of them")
    if not states:
        raise PostgresError("states must list at least one session state, e.g. [idle]")
    unknown = sorted(set(states) - set(CLIENT_STATES))
    if unknown:
        raise PostgresError(f"unknown session state(s) {unknown}; valid: {list(CLIENT_STATES)}")
    if idle_seconds < 0:
        raise PostgresError(f"idle_seconds must be 0 or more, not {idle_seconds}")
    if max_terminations is not None and max_terminations < 1:
        raise PostgresError(f"max_terminations must be at least 1, not {max_terminations}")


def terminate_backends(
    conn: Any,
    *,
    usename: str | None,
    all_users: bool = False,
    states: list[str] | None = None,
    idle_seconds: float = 600,
    application_name: str | None = None,
    database: str | None = None,
    max_terminations: int | None = None,
    check_mode: bool = False,
) -> list[dict[str, Any]]:
    """Terminate matching client sessions (never our own, never background processes); return what matched.

    The filter is evaluated again in the terminating statement, so a session that woke up between
    listing and terminating is left alone.
    """
    states = list(states if states is not None else ["idle"])
    validate_terminate_filters(
        usename=usename,
        all_users=all_users,
        states=states,
        idle_seconds=idle_seconds,
        max_terminations=max_terminations,
    )
    params = {
        "all_users": all_users,
        "usename": usename,
        "states": states,
        "idle_seconds": float(idle_seconds),
        "application_name": application_name,
        "database": database,
    }
    try:
        candidates = fetch_dicts(conn, TERMINATE_CANDIDATES_SQL.format(pids=""), params)
        if max_terminations is not None:
            candidates = candidates[:max_terminations]
        if check_mode or not candidates:
            return candidates
        query = TERMINATE_CANDIDATES_SQL.format(pids="AND pid = ANY(%(pids)s::int[])").replace(
            "round(extract", "pg_terminate_backend(pid) AS terminated, round(extract", 1
        )
        rows = fetch_dicts(conn, query, {**params, "pids": [c["pid"] for c in candidates]})
    except psycopg2.Error as exc:
        raise database_error(exc, "terminating sessions") from None
    done = []
    for row in rows:
        if row.pop("terminated"):
            done.append(row)
    return done
