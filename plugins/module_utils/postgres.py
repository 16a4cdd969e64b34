# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared PostgreSQL plumbing for the stratum.ops.postgres modules: argument spec, connection, errors.

The option names follow community.postgresql so a play can switch between the collections.
"""

from __future__ import annotations

import traceback
from typing import Any

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.extras

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

DEFAULT_PORT = 5432
DEFAULT_USER = "postgres"
DEFAULT_DB = "postgres"
DEFAULT_CONNECT_TIMEOUT = 10
APPLICATION_NAME = "stratum.ops"
SSL_MODES = ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]


class PostgresError(Exception):
    """An expected failure with a message an on-call engineer can act on (no traceback needed)."""


def postgres_argument_spec() -> dict[str, Any]:
    """Connection options shared by every stratum.ops PostgreSQL module; defaults come from PG* env vars."""
    return dict(
        login_host=dict(type="str", aliases=["host"], fallback=(env_fallback, ["PGHOST"])),
        login_port=dict(type="int", aliases=["port"], fallback=(env_fallback, ["PGPORT"])),
        login_user=dict(type="str", aliases=["login", "user"], fallback=(env_fallback, ["PGUSER"])),
        login_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PGPASSWORD"])),
        login_db=dict(type="str", aliases=["db", "database_name"], fallback=(env_fallback, ["PGDATABASE"])),
        login_unix_socket=dict(type="str"),
        ssl_mode=dict(type="str", choices=SSL_MODES, fallback=(env_fallback, ["PGSSLMODE"])),
        ca_cert=dict(type="str", aliases=["ssl_rootcert"], fallback=(env_fallback, ["PGSSLROOTCERT"])),
        connect_timeout=dict(type="int", fallback=(env_fallback, ["PGCONNECT_TIMEOUT"])),
    )


def ensure_psycopg2(module: Any) -> None:
    """Fail the module with Ansible's standard message when psycopg2 is not importable."""
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)


def connection_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """psycopg2.connect() keyword arguments from the module's connection options."""
    host = params.get("login_host") or params.get("login_unix_socket") or None
    kwargs: dict[str, Any] = {
        "port": int(params.get("login_port") or DEFAULT_PORT),
        "user": params.get("login_user") or DEFAULT_USER,
        "dbname": params.get("login_db") or DEFAULT_DB,
        "connect_timeout": int(params.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT),
        "sslmode": params.get("ssl_mode") or "prefer",
        "application_name": APPLICATION_NAME,
    }
    if host:
        kwargs["host"] = host
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    return kwargs


def describe_target(params: dict[str, Any]) -> str:
    """Where we tried to connect, for error messages (never includes the password)."""
    kw = connection_kwargs(params)
    where = kw.get("host") or "local socket"
    return f"{kw['user']}@{where}:{kw['port']}/{kw['dbname']}"


def connect(params: dict[str, Any], statement_timeout: float | None = 60, autocommit: bool = True) -> Any:
    """Open a connection whose every statement runs under statement_timeout seconds (0 or None: no limit)."""
    kwargs = connection_kwargs(params)
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split())
        password = params.get("login_password")
        if password:
            reason = reason.replace(password, "********")
        raise PostgresError(f"cannot connect to PostgreSQL as {describe_target(params)}: {reason}") from None
    conn.autocommit = autocommit
    set_timeout(conn, "statement_timeout", statement_timeout or 0)
    return conn


def set_timeout(conn: Any, setting: str, seconds: float) -> None:
    """Set a session timeout (statement_timeout, lock_timeout...) in milliseconds, as a bound parameter."""
    with conn.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, false)", (setting, f"{round(seconds * 1000)}ms"))
    if not conn.autocommit:
        conn.commit()


def fetch_dicts(conn: Any, query: Any, args: Any = None) -> list[dict[str, Any]]:
    """Run a read query and return its rows as plain dicts."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(query, args)
        return [dict(row) for row in cur.fetchall()]


def database_error(exc: Exception, doing: str) -> PostgresError:
    """Turn a psycopg2 error into a PostgresError that says what we were doing and why it failed."""
    code = getattr(exc, "pgcode", None)
    reason = " ".join(str(getattr(exc, "pgerror", None) or exc).split())
    if code == "57014":
        reason = f"statement_timeout reached ({reason})"
    elif code == "55P03":
        reason = f"lock_timeout reached: another session holds a conflicting lock ({reason})"
    elif code == "42501":
        reason = f"permission denied ({reason})"
    return PostgresError(f"{doing} failed: {reason}")


def server_version(conn: Any) -> int:
    """server_version_num, e.g. 150004."""
    return int(conn.server_version)


def isoformat(value: Any) -> str | None:
    """Timestamps as ISO 8601 strings (JSON-friendly); None stays None."""
    return value.isoformat() if value is not None else None


def fail_module(module: Any, exc: BaseException, doing: str, **facts: Any) -> None:
    """fail_json for any error: expected ones (PostgresError, database errors) without a traceback."""
    if isinstance(exc, PostgresError):
        module.fail_json(msg=str(exc), **facts)
    if HAS_PSYCOPG2 and isinstance(exc, psycopg2.Error):
        module.fail_json(msg=str(database_error(exc, doing)), **facts)
    module.fail_json(msg=f"{doing} failed unexpectedly: {exc}", exception=traceback.format_exc(), **facts)
