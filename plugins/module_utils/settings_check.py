# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The settings half of the runbook's Pre-Deploy Checklist, as pure functions.

Every check returns ``{"name", "status", "reason"}`` with status ``pass``, ``fail`` or ``skip``.
Reasons name settings and describe what is wrong (missing, placeholder, too short, equal to
another); they never contain a setting's value, so the report can be printed and sent to AWX.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

DEFAULT_REQUIRED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "PII_ENCRYPTION_KEY",
    "CORS_ORIGINS",
    "SENTRY_DSN",
)
DEFAULT_UNIQUE_SECRETS = ("SECRET_KEY", "JWT_SECRET_KEY", "PII_ENCRYPTION_KEY")
DEFAULT_MIN_SECRET_LENGTH = 32
DEFAULT_EMBED_FLAGS = ("EMBED_WIDGETS_ENABLED", "EMBED_ENABLED", "ENABLE_EMBED_WIDGETS")
DEFAULT_WHATSAPP_FLAGS = ("WHATSAPP_ENABLED", "ENABLE_WHATSAPP")

# Values that .env templates and docs ship with; compared lower-cased and stripped.
PLACEHOLDER_VALUES = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "change-this",
        "secret",
        "default",
        "example",
        "password",
        "placeholder",
        "todo",
        "tbd",
        "fixme",
        "none",
        "null",
        "dummy",
        "xxx",
        "test",
    }
)
PLACEHOLDER_PREFIXES = ("your-", "your_", "<", "${", "replace-", "replace_", "insert-", "insert_")
PLACEHOLDER_FRAGMENTS = ("changeme", "change-me", "change_me", "replace-me", "replace_me", "replaceme")
TRUE_VALUES = frozenset({"1", "true", "yes", "on", "enabled", "y", "t"})


def as_text(value: Any) -> str | None:
    """A setting as text; None when the setting is absent (None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_truthy(value: Any) -> bool:
    """True for the usual spellings of an enabled flag (true, 1, yes, on)."""
    text = as_text(value)
    return text is not None and text.strip().lower() in TRUE_VALUES


def is_placeholder(value: Any, extra_placeholders: Iterable[str] = ()) -> bool:
    """True when a value is empty or one of the known template placeholders (changeme, your-..., <...>)."""
    text = as_text(value)
    if text is None:
        return True
    lowered = text.strip().lower()
    if lowered in PLACEHOLDER_VALUES or lowered in {p.strip().lower() for p in extra_placeholders}:
        return True
    if lowered.startswith(PLACEHOLDER_PREFIXES):
        return True
    if any(fragment in lowered for fragment in PLACEHOLDER_FRAGMENTS):
        return True
    # A run of one repeated character (xxxxxxxx, ********) is a template filler, not a value.
    return len(lowered) >= 3 and len(set(lowered)) == 1


def _check(name: str, status: str, reason: str) -> dict[str, str]:
    return {"name": name, "status": status, "reason": reason}


def _presence_problem(settings: Mapping[str, Any], key: str, extra_placeholders: Iterable[str]) -> str | None:
    """Why a setting is not usable (missing, empty, placeholder), or None when it is."""
    if key not in settings or settings[key] is None:
        return f"{key} is not set"
    text = as_text(settings[key]) or ""
    if not text.strip():
        return f"{key} is empty"
    if is_placeholder(text, extra_placeholders):
        return f"{key} is set to a known placeholder value"
    return None


def check_required(
    settings: Mapping[str, Any], required: Iterable[str], extra_placeholders: Iterable[str] = ()
) -> list[dict[str, str]]:
    """One check per required setting: present, not empty, not a placeholder."""
    checks = []
    for key in required:
        problem = _presence_problem(settings, key, extra_placeholders)
        checks.append(_check(f"required:{key}", "fail" if problem else "pass", problem or f"{key} is set"))
    return checks


def check_secrets(
    settings: Mapping[str, Any], secrets: Iterable[str], min_length: int = DEFAULT_MIN_SECRET_LENGTH
) -> list[dict[str, str]]:
    """Each secret at least min_length characters, and no two secrets equal."""
    secrets = list(secrets)
    checks = []
    for key in secrets:
        text = as_text(settings.get(key))
        if text is None or not text:
            checks.append(_check(f"secret_length:{key}", "fail", f"{key} is not set"))
        elif len(text) < min_length:
            checks.append(
                _check(
                    f"secret_length:{key}",
                    "fail",
                    f"{key} has {len(text)} characters, needs at least {min_length}",
                )
            )
        else:
            checks.append(_check(f"secret_length:{key}", "pass", f"{key} has at least {min_length} characters"))
    present = [(key, as_text(settings.get(key))) for key in secrets if as_text(settings.get(key))]
    equal_pairs = [f"{a} and {b}" for i, (a, va) in enumerate(present) for (b, vb) in present[i + 1 :] if va == vb]
    if len(present) < 2:
        checks.append(_check("secrets_unique", "skip", "fewer than two of the secrets are set"))
    elif equal_pairs:
        checks.append(_check("secrets_unique", "fail", "equal secrets: " + ", ".join(equal_pairs)))
    else:
        checks.append(_check("secrets_unique", "pass", ", ".join(pair[0] for pair in present) + " are all different"))
    return checks


def _feature_enabled(settings: Mapping[str, Any], flags: Iterable[str]) -> str | None:
    """The first flag set to a true value, or None when the feature is off."""
    for flag in flags:
        if is_truthy(settings.get(flag)):
            return flag
    return None


def check_feature_secret(
    settings: Mapping[str, Any],
    check_name: str,
    feature: str,
    flags: Iterable[str],
    secret: str,
    extra_placeholders: Iterable[str] = (),
) -> dict[str, str]:
    """A feature's secret must be configured when one of its flags is true; skipped otherwise."""
    flags = list(flags)
    flag = _feature_enabled(settings, flags)
    if flag is None:
        return _check(check_name, "skip", f"{feature} not enabled ({' / '.join(flags)} not true)")
    problem = _presence_problem(settings, secret, extra_placeholders)
    if problem:
        return _check(check_name, "fail", f"{feature} enabled ({flag}) but {problem}")
    return _check(check_name, "pass", f"{feature} enabled ({flag}) and {secret} is set")


def parse_origins(value: Any) -> list[str]:
    """CORS origins from a comma/space separated string or a JSON list."""
    text = (as_text(value) or "").strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item).strip() for item in parsed if str(item).strip()]
    return [item.strip().strip("\"'") for item in re.split(r"[,\s]+", text) if item.strip().strip("\"'")]


def check_cors(settings: Mapping[str, Any], environment: str, key: str = "CORS_ORIGINS") -> dict[str, str]:
    """CORS origins set; in production no wildcard origin."""
    origins = parse_origins(settings.get(key))
    if not origins:
        return _check("cors_origins", "fail", f"{key} is not set")
    wildcard = [origin for origin in origins if "*" in origin]
    if environment == "production" and wildcard:
        return _check("cors_origins", "fail", f"{key} allows a wildcard origin ('*') in production")
    if wildcard:
        return _check(
            "cors_origins", "pass", f"{key} has a wildcard origin, allowed outside production ({environment})"
        )
    return _check("cors_origins", "pass", f"{key} lists {len(origins)} explicit origin(s)")


def check_sentry(
    settings: Mapping[str, Any], key: str = "SENTRY_DSN", extra_placeholders: Iterable[str] = ()
) -> dict[str, str]:
    """A Sentry DSN is set and has the shape scheme://key@host/project."""
    problem = _presence_problem(settings, key, extra_placeholders)
    if problem:
        return _check("sentry_dsn", "fail", problem)
    parts = urlsplit((as_text(settings[key]) or "").strip())
    if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname or len(parts.path) < 2:
        return _check("sentry_dsn", "fail", f"{key} is not a Sentry DSN (https://<key>@<host>/<project>)")
    return _check("sentry_dsn", "pass", f"{key} is set")


def check_settings(
    settings: Mapping[str, Any] | None,
    environment: str = "production",
    required: Iterable[str] = DEFAULT_REQUIRED_SETTINGS,
    unique_secrets: Iterable[str] = DEFAULT_UNIQUE_SECRETS,
    min_secret_length: int = DEFAULT_MIN_SECRET_LENGTH,
    embed_flags: Iterable[str] = DEFAULT_EMBED_FLAGS,
    whatsapp_flags: Iterable[str] = DEFAULT_WHATSAPP_FLAGS,
    extra_placeholders: Iterable[str] = (),
) -> list[dict[str, str]]:
    """Every settings check of the Pre-Deploy Checklist, in the runbook's order."""
    if settings is None:
        settings = {}
    if not isinstance(settings, Mapping):
        raise TypeError("settings must be a mapping of setting name to value")
    extra_placeholders = list(extra_placeholders or ())
    checks = check_required(settings, required, extra_placeholders)
    checks.append(check_cors(settings, environment))
    checks.extend(check_secrets(settings, unique_secrets, min_secret_length))
    checks.append(
        check_feature_secret(
            settings, "embed_signing_key", "embed widgets", embed_flags, "EMBED_SIGNING_KEY", extra_placeholders
        )
    )
    checks.append(
        check_feature_secret(
            settings, "whatsapp_app_secret", "WhatsApp", whatsapp_flags, "WHATSAPP_APP_SECRET", extra_placeholders
        )
    )
    checks.append(check_sentry(settings, extra_placeholders=extra_placeholders))
    return checks


def parse_dotenv(text: str) -> dict[str, str]:
    """A Compose-style .env file as a dict (comments, `export`, single/double quotes)."""
    result: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
            value = value[1:-1]
            if raw.strip().partition("=")[2].strip().startswith('"'):
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            # An unquoted value ends at an inline comment (" #").
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        result[key] = value
    return result


def summarize(checks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts per status, the failed check names, and ok (no failure)."""
    checks = list(checks)
    counts = {status: sum(1 for c in checks if c.get("status") == status) for status in ("pass", "fail", "skip")}
    failed = [str(c.get("name")) for c in checks if c.get("status") == "fail"]
    return {"counts": counts, "failed": failed, "ok": not failed}
