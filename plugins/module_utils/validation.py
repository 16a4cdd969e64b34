# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Input validation shared by every stratum.ops module: ports, timeouts, host names, text and URLs.

Each check raises InvalidOption naming the option and what is allowed, so a module can fail with a clear
message (and no traceback) before it opens any connection. Pure Python, usable without Ansible.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import parameters as _parameters

MAX_PORT = 65535
# Python's time.sleep() and socket timeouts overflow past about 292 years; a day bounds every wait we do.
MAX_TIMEOUT = 86400.0
# Integers that reach C libraries (redis-py, libpq, botocore) must fit a signed 64-bit value.
MAX_INT = 2**63 - 1
HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")


class InvalidOption(ValueError):
    """A module option with a value the module refuses; the message names the option and what is allowed."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option} {message}")
        # "url port", "objects[2]": the option itself is the first word, before any index
        self.option = option.split(" ")[0].split("[")[0]


def _show(value: Any) -> str:
    """A short, printable rendering of a rejected value (no NUL bytes or surrogates in the message)."""
    text = repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 80 else text[:77] + "..."


def check_text(option: str, value: Any) -> Any:
    """Strings (also inside lists and dicts) without NUL bytes or lone surrogates; returns value unchanged."""
    if value is None:
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidOption(option, "must not contain a NUL byte (\\x00)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidOption(option, "must be valid UTF-8 text (it holds a lone surrogate)") from None
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            check_text(option, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(option, key)
            check_text(option, item)
    return value


def check_number(
    option: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    min_exclusive: bool = False,
    unit: str = "",
) -> Any:
    """A finite number within [minimum, maximum] (minimum excluded with min_exclusive); None passes."""
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOption(option, f"must be a number, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOption(
            option, f"must be a finite number{_range(minimum, maximum, min_exclusive, unit)}, got {value}"
        )
    if isinstance(value, int) and abs(value) > MAX_INT:
        if minimum is None and maximum is None:
            minimum, maximum = -MAX_INT, MAX_INT
        raise InvalidOption(option, f"must be{_range(minimum, maximum, min_exclusive, unit)}, got {_show(value)}")
    low_bad = minimum is not None and (value <= minimum if min_exclusive else value < minimum)
    high_bad = maximum is not None and value > maximum
    if low_bad or high_bad:
        raise InvalidOption(option, f"must be{_range(minimum, maximum, min_exclusive, unit)}, got {_show(value)}")
    return value


def _num(value: float) -> str:
    """2147483647 rather than 2.14748e+09 in messages."""
    if float(value).is_integer() and abs(value) < 1e18:
        return str(int(value))
    return f"{value:g}"


def _range(minimum: float | None, maximum: float | None, min_exclusive: bool, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        low = f"more than {_num(minimum)}" if min_exclusive else f"from {_num(minimum)}"
        return f" {low}{' and at most' if min_exclusive else ' to'} {_num(maximum)}{unit}"
    if minimum is not None:
        return f" {'more than' if min_exclusive else 'at least'} {_num(minimum)}{unit}"
    if maximum is not None:
        return f" at most {_num(maximum)}{unit}"
    return ""


def check_port(option: str, value: Any) -> Any:
    """A TCP port 1-65535 (0 is refused: it must never turn into a library's default port)."""
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOption(option, f"must be a port number from 1 to 65535, got {_show(value)}")
    if not 1 <= value <= MAX_PORT:
        raise InvalidOption(option, f"must be a port number from 1 to 65535, got {_show(value)}")
    return value


def check_timeout(
    option: str, value: Any, maximum: float = MAX_TIMEOUT, allow_zero: bool = False, unit: str = "seconds"
) -> Any:
    """A finite timeout more than 0 (or 0 when allow_zero) and at most maximum; None passes."""
    return check_number(option, value, 0, maximum, min_exclusive=not allow_zero, unit=unit)


def check_host(option: str, value: Any, allow_empty: bool = False) -> Any:
    """A DNS name (labels of 1-63 characters, at most 253 in all), an IPv4 or an IPv6 address."""
    if value is None:
        return value
    check_text(option, value)
    if not isinstance(value, str):
        raise InvalidOption(option, f"must be a host name or IP address, got {_show(value)}")
    if not value:
        if allow_empty:
            return value
        raise InvalidOption(option, "must be a host name or IP address, got an empty string")
    address = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(address)
        return value
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if len(name) > 253:
        raise InvalidOption(option, f"must be a host name of at most 253 characters, got {len(name)} characters")
    for label in name.split("."):
        if len(label) > 63:
            raise InvalidOption(
                option, f"must be a host name whose labels have at most 63 characters, got one of {len(label)}"
            )
        if not HOST_LABEL.match(label):
            raise InvalidOption(
                option,
                f"must be a host name (letters, digits, '-', '_' in dot-separated labels) or an IP address, "
                f"got {_show(value)}",
            )
    return value


def split_url(option: str, value: str, schemes: tuple[str, ...], require_host: bool = True) -> Any:
    """urlsplit() with the checks every URL option needs: text, scheme, host and port."""
    check_text(option, value)
    allowed = ", ".join(s + "://" for s in schemes)
    if not isinstance(value, str) or not value:
        raise InvalidOption(option, f"must be a URL; use {allowed}")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise InvalidOption(option, f"is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in schemes or "://" not in value:
        raise InvalidOption(option, f"has scheme {parts.scheme or '(none)'!r}; use {allowed}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidOption(option, "is not a valid URL: its port is not a number from 1 to 65535") from None
    if port is not None:
        check_port(f"{option} port", port)
    elif re.search(r"^[^/]*:\d*$", parts.netloc.rpartition("@")[2]) and not parts.netloc.endswith("]"):
        # "host:" or "host:0" - urlsplit reports no port (or 0, handled above) for an empty one
        raise InvalidOption(option, "has an empty port; give a port number from 1 to 65535 or none")
    host = parts.hostname or ""
    if require_host and not host:
        raise InvalidOption(option, "names no host")
    if host:
        check_host(f"{option} host", host)
    return parts


def check_query_numbers(option: str, parts: Any, names: dict[str, tuple[float, float]]) -> dict[str, str]:
    """The query parameters of a URL; the ones in names must be numbers within their (min, max]."""
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, (low, high) in names.items():
        if name not in query:
            continue
        try:
            number = float(query[name])
        except ValueError:
            raise InvalidOption(option, f"query parameter {name}={query[name]!r} must be a number") from None
        check_number(f"{option} query parameter {name}", number, low, high, min_exclusive=True)
    return query


REDIS_URL_QUERY = {
    "socket_timeout": (0, MAX_TIMEOUT),
    "socket_connect_timeout": (0, MAX_TIMEOUT),
    "health_check_interval": (-1, MAX_TIMEOUT),
    "max_connections": (0, 1e6),
}
REDIS_URL_ARGS = set(REDIS_URL_QUERY) | {
    "db",
    "socket_keepalive",
    "retry_on_timeout",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_check_hostname",
    "client_name",
    "protocol",
}


def redis_url_db(option: str, parts: Any, query: dict[str, str]) -> int | None:
    """The database number a Redis URL names (path or ?db=), or None; anything else is refused."""
    path = unquote(parts.path or "")
    db_text = path[1:] if path.startswith("/") else path
    if "db" in query and not db_text:
        db_text = query["db"]
    if not db_text:
        return None
    if not db_text.isascii() or not db_text.isdigit():
        raise InvalidOption(
            option, f"database path {_show(db_text)} is not a database number (use /0, /1, ...); refusing to use db 0"
        )
    return check_number(f"{option} database number", int(db_text), 0, 2**31 - 1)


def check_redis_url(option: str, value: Any, schemes: tuple[str, ...] = ("redis", "rediss")) -> Any:
    """A redis:// or rediss:// URL with a valid host, port, database number and query parameters."""
    if value is None:
        return value
    parts = split_url(option, value, schemes)
    query = check_query_numbers(option, parts, REDIS_URL_QUERY)
    unknown = sorted(set(query) - REDIS_URL_ARGS)
    if unknown:
        raise InvalidOption(
            option, f"has unknown query parameters {', '.join(unknown)}; allowed: {', '.join(sorted(REDIS_URL_ARGS))}"
        )
    redis_url_db(option, parts, query)
    return value


def check_http_url(option: str, value: Any) -> Any:
    """An http:// or https:// URL with a valid host and port (AWS endpoint_url, Kubernetes host)."""
    if value is None:
        return value
    split_url(option, value, ("http", "https"))
    return value


def collect_errors(checks: list[tuple[Any, ...]]) -> list[InvalidOption]:
    """Run (function, option, value, *args) checks; return the errors (empty when everything is valid)."""
    errors = []
    for func, option, value, *args in checks:
        try:
            func(option, value, *args)
        except InvalidOption as exc:
            errors.append(exc)
    return errors


def text_checks(params: dict[str, Any], spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    """check_text for every option whose spec type carries text, and finite numbers for every number option."""
    checks: list[tuple[Any, ...]] = []
    for name, option in spec.items():
        value = params.get(name)
        kind = option.get("type", "str")
        if kind in ("int", "float"):
            checks.append((check_number, name, value))
        elif not callable(kind) and kind not in ("bool",):
            checks.append((check_text, name, value))
        for sub in ("options",):
            if option.get(sub) and isinstance(value, dict):
                checks.extend(text_checks(value, option[sub]))
    return checks


def validate_module(module: Any, *check_lists: list[tuple[Any, ...]]) -> None:
    """Fail the module (msg names the option and what is allowed, no traceback) when a check fails."""
    # AnsibleK8SModule wraps the AnsibleModule that holds the spec
    spec = getattr(module, "argument_spec", None) or getattr(getattr(module, "_module", None), "argument_spec", {})
    # The specific checks first (their message says what is allowed), then text and finiteness for every option.
    checks: list[tuple[Any, ...]] = []
    for check_list in check_lists:
        checks.extend(check_list)
    checks.extend(text_checks(module.params, spec))
    errors, named = [], set()
    for error in collect_errors(checks):
        if error.option not in named:  # one message per option: the generic check and the specific one agree
            named.add(error.option)
            errors.append(error)
    if errors:
        first = errors[0]
        others = "; ".join(str(e) for e in errors[1:])
        module.fail_json(msg=str(first) + (f" (also: {others})" if others else ""), invalid_option=first.option)


def _refuse_bad_text_before_logging() -> None:
    """Check text options before AnsibleModule logs its arguments to syslog.

    That log is written inside AnsibleModule() itself, before a module can validate anything, and a NUL byte
    in a string option makes it fail with "Failed to log to syslog (embedded null character)", a message that
    names no option. Wrapping the one step keeps every module (also those built on AnsibleAWSModule and
    AnsibleK8SModule, which create an AnsibleModule inside) failing with the option named instead.
    """
    original = getattr(AnsibleModule, "_log_invocation", None)
    if original is None or getattr(original, "stratum_checked", False):  # None: ansible-test's import stub
        return

    def _log_invocation(self: Any) -> None:
        errors = collect_errors(text_checks(self.params, self.argument_spec))
        if errors:
            self.fail_json(msg=str(errors[0]), invalid_option=errors[0].option)
        original(self)

    _log_invocation.stratum_checked = True  # type: ignore[attr-defined]
    AnsibleModule._log_invocation = _log_invocation  # type: ignore[method-assign]


def _refuse_infinite_integers() -> None:
    """Make "inf" for an int option a type error naming the option, not a module crash.

    Ansible's int conversion turns "inf" into float('inf') and then int(), whose OverflowError it does not
    catch: the module dies with "cannot convert Infinity to integer" and no option named.
    """
    types = getattr(_parameters, "DEFAULT_TYPE_VALIDATORS", None)
    original = types.get("int") if isinstance(types, dict) else None
    if original is None or getattr(original, "stratum_checked", False):
        return

    def check_type_int(value: Any) -> int:
        try:
            return original(value)
        except OverflowError:
            raise TypeError(f"{_show(value)} is not a finite integer") from None

    check_type_int.stratum_checked = True  # type: ignore[attr-defined]
    types["int"] = check_type_int


_refuse_bad_text_before_logging()
_refuse_infinite_integers()
