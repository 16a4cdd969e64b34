# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared PostgreSQL plumbing for the stratum.ops.postgres modules: argument spec, connection, errors.

The option names follow community.postgresql so a play can switch between the collections.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback
from typing import Any

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.validation import (
    InvalidOption,
    check_host,
    check_number,
    check_port,
    check_text,
    check_timeout,
)

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


MAX_CONNECT_TIMEOUT = 3600
# A stopped (SIGSTOP) server never enforces statement_timeout, so the client stops waiting this long after it.
CLIENT_MARGIN = 5


def postgres_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of the connection options (stratum.ops.validation.validate_module runs them)."""
    host = params.get("login_host")
    checks: list[tuple[Any, ...]] = [
        (check_port, "login_port", params.get("login_port")),
        (check_number, "connect_timeout", params.get("connect_timeout"), 1, MAX_CONNECT_TIMEOUT),
        (check_text, "login_unix_socket", params.get("login_unix_socket")),
    ]
    if host is not None and not (isinstance(host, str) and host.startswith("/")):  # "/dir" is a socket directory
        checks.append((check_host, "login_host", host))
    for option in ("login_user", "login_db"):
        if params.get(option) == "":
            checks.append((_refuse_empty, option, ""))
    ca_cert = params.get("ca_cert")
    if ca_cert and isinstance(ca_cert, str) and "\x00" not in ca_cert and not os.path.isfile(ca_cert):
        checks.append((_missing_file, "ca_cert", ca_cert))
    return checks


def statement_timeout_check(option: str, value: Any, allow_zero: bool = False) -> tuple[Any, ...]:
    """A check for a statement/lock timeout option in seconds (at most a day; 0 only where documented)."""
    return (check_timeout, option, value, 86400, allow_zero)


def _refuse_empty(option: str, value: Any) -> None:
    raise InvalidOption(option, "must not be empty; leave it unset for the default")


def _missing_file(option: str, value: Any) -> None:
    raise InvalidOption(option, f"names a file that does not exist: {value}")


def ensure_psycopg2(module: Any) -> None:
    """Fail the module with Ansible's standard message when psycopg2 is not importable."""
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)


def _option(params: dict[str, Any], name: str, default: Any) -> Any:
    """An option's value, or the default only when it is unset: port 0 must never become 5432."""
    value = params.get(name)
    return default if value is None else value


def connection_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """psycopg2.connect() keyword arguments from the module's connection options."""
    try:
        for func, option, value, *args in postgres_checks(params):
            func(option, value, *args)
    except InvalidOption as exc:
        raise PostgresError(str(exc)) from None
    host = params.get("login_host") or params.get("login_unix_socket") or None
    kwargs: dict[str, Any] = {
        "port": int(_option(params, "login_port", DEFAULT_PORT)),
        "user": params.get("login_user") or DEFAULT_USER,
        "dbname": params.get("login_db") or DEFAULT_DB,
        "connect_timeout": int(_option(params, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
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
        conn = psycopg2.connect(**kwargs, connection_factory=DeadlineConnection, cursor_factory=DeadlineCursor)
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split())
        password = params.get("login_password")
        if password:
            reason = reason.replace(password, "********")
        raise PostgresError(f"cannot connect to PostgreSQL as {describe_target(params)}: {reason}") from None
    conn.autocommit = autocommit
    conn.client_deadline = kwargs["connect_timeout"]  # until statement_timeout is set just below
    set_timeout(conn, "statement_timeout", statement_timeout or 0)
    return conn


if HAS_PSYCOPG2:

    class ServerStoppedAnswering(psycopg2.OperationalError):
        """The client gave up on a statement the server never answered (its statement_timeout did not fire)."""

    class DeadlineConnection(psycopg2.extensions.connection):
        """A connection whose statements are bounded on the client side too.

        A stopped (SIGSTOP) or wedged server never enforces statement_timeout: after the session's
        statement_timeout plus CLIENT_MARGIN seconds the socket is shut down, so the blocked call raises.
        """

        client_deadline: float | None = None

    class _DeadlineMixin:
        def execute(self, query: Any, args: Any = None) -> Any:
            seconds = getattr(self.connection, "client_deadline", None)
            if not seconds:
                return super().execute(query, args)
            fired = threading.Event()
            timer = threading.Timer(seconds + CLIENT_MARGIN, _cut, (self.connection, fired))
            timer.daemon = True
            timer.start()
            try:
                return super().execute(query, args)
            except psycopg2.Error:
                if fired.is_set():
                    raise ServerStoppedAnswering(
                        f"PostgreSQL did not answer within statement_timeout ({seconds:g}s) plus {CLIENT_MARGIN}s; "
                        "the connection was closed (server stopped or hung?)"
                    ) from None
                raise
            finally:
                timer.cancel()

    class DeadlineCursor(_DeadlineMixin, psycopg2.extensions.cursor):
        pass

    class DeadlineDictCursor(_DeadlineMixin, psycopg2.extras.RealDictCursor):
        pass


def _cut(conn: Any, fired: threading.Event) -> None:
    fired.set()
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    except (OSError, ValueError):
        pass


def set_timeout(conn: Any, setting: str, seconds: float) -> None:
    """Set a session timeout (statement_timeout, lock_timeout...) in milliseconds, as a bound parameter."""
    with conn.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, false)", (setting, f"{round(seconds * 1000)}ms"))
    if setting == "statement_timeout" and isinstance(conn, DeadlineConnection):
        conn.client_deadline = seconds or None
    if not conn.autocommit:
        conn.commit()


def fetch_dicts(conn: Any, query: Any, args: Any = None) -> list[dict[str, Any]]:
    """Run a read query and return its rows as plain dicts."""
    with conn.cursor(cursor_factory=DeadlineDictCursor) as cur:
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
