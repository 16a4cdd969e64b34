# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Alembic through its command line, the way the runbook runs it, without leaking the database URL.

The URL only ever travels in the child's environment (``DATABASE_URL`` by default, what the
project's env.py reads); it is never on a command line, and every text we return is scrubbed of
it and of its password. The runner is injected, so the parsing and the decisions are unit-testable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from ansible_collections.stratum.ops.plugins.module_utils.validation import InvalidOption, check_text

# run(argv, cwd, env_update) -> (rc, stdout, stderr)
Runner = Callable[[list[str], str, dict[str, str]], tuple[int, str, str]]

REDACTED = "********"
_REVISION_LINE = re.compile(r"^(?P<rev>[0-9A-Za-z_]+)(?P<tags>(?: \([^)]*\))*)\s*$")
_HISTORY_LINE = re.compile(r"^(?P<down>.+?) -> (?P<rev>[0-9A-Za-z_]+)(?P<tags>(?: \([^)]*\))*), ?(?P<doc>.*)$")
_PARENT_LINE = re.compile(r"^Parent:\s*(?P<parent>.*)$", re.MULTILINE)


class AlembicError(Exception):
    """An alembic command failed or answered something we cannot act on."""


def parse_revisions(stdout: str) -> list[str]:
    """Revision ids from `alembic current` / `alembic heads` output (`abc123 (head)` lines)."""
    revisions = []
    for line in stdout.splitlines():
        match = _REVISION_LINE.match(line.strip())
        if match and match.group("rev") not in revisions:
            revisions.append(match.group("rev"))
    return revisions


def parse_history(stdout: str) -> list[dict[str, str]]:
    """`alembic history` lines as [{revision, down_revision, message}], oldest first (history prints newest first)."""
    entries = []
    for line in stdout.splitlines():
        match = _HISTORY_LINE.match(line.strip())
        if match:
            entries.append(
                {
                    "revision": match.group("rev"),
                    "down_revision": match.group("down").strip(),
                    "message": match.group("doc").strip(),
                }
            )
    entries.reverse()
    return entries


def parse_parent(stdout: str) -> str | None:
    """The parent revision from `alembic show <rev>`; None for the first revision (<base>)."""
    match = _PARENT_LINE.search(stdout)
    if not match:
        raise AlembicError("alembic show printed no 'Parent:' line; cannot resolve a relative downgrade")
    parent = match.group("parent").strip()
    if parent in ("<base>", "", "None"):
        return None
    if "," in parent or parent.startswith("("):
        raise AlembicError(f"revision has several parents ({parent}); give an explicit revision to downgrade to")
    return parent


def secrets_of(url: str | None) -> list[str]:
    """The strings to scrub from output: the URL itself and its password (raw and decoded)."""
    if not url:
        return []
    found = [url]
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    # Longest first, so the URL is replaced whole before its password.
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Text with every secret replaced by ********."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:")


def error_detail(output: str) -> str:
    """The exception of a failed alembic run (e.g. `OperationalError: connection refused`), not its traceback."""
    lines = [line.strip() for line in output.splitlines()]
    lines = [line for line in lines if line and not line.startswith("(Background")]
    starts = [i for i, line in enumerate(lines) if _EXCEPTION_LINE.match(line)]
    picked = lines[starts[-1] : starts[-1] + 3] if starts else lines[-2:]
    return " | ".join(picked)[:1000]


def relative_steps(revision: str) -> int | None:
    """N for a relative downgrade target `-N`, else None."""
    match = re.fullmatch(r"-(\d+)", revision.strip())
    return int(match.group(1)) if match else None


ENV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_var_name(option: str, value: Any) -> Any:
    """An environment variable name (letters, digits, '_', not starting with a digit); never empty."""
    check_text(option, value)
    if not isinstance(value, str) or not ENV_VAR_NAME.match(value):
        raise InvalidOption(
            option,
            f"must be an environment variable name (letters, digits and '_', not starting with a digit), got {value!r}",
        )
    return value


def check_database_url(option: str, value: Any) -> Any:
    """A SQLAlchemy URL, dialect[+driver]://..."""
    if value is None:
        return value
    check_text(option, value)
    if not isinstance(value, str) or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise InvalidOption(option, "must be a SQLAlchemy URL such as postgresql://user@host:5432/db")
    return value


def alembic_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of the alembic_migration options (stratum.ops.validation.validate_module runs them)."""
    checks: list[tuple[Any, ...]] = [
        (check_env_var_name, "url_env_var", params.get("url_env_var")),
        (check_database_url, "database_url", params.get("database_url")),
    ]
    for option in ("project_dir", "config", "executable"):
        if params.get(option) == "":
            checks.append((_refuse_empty, option, ""))
    return checks


def _refuse_empty(option: str, value: Any) -> None:
    raise InvalidOption(option, "must not be empty")


class Alembic:
    """One alembic project (directory + ini) and one database URL."""

    def __init__(
        self,
        run: Runner,
        project_dir: str,
        executable: Sequence[str] = ("alembic",),
        config: str = "alembic.ini",
        database_url: str | None = None,
        url_env_var: str = "DATABASE_URL",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        try:
            check_env_var_name("url_env_var", url_env_var)
        except InvalidOption as exc:
            raise AlembicError(str(exc)) from None
        self._run = run
        self.project_dir = project_dir
        self.executable = list(executable)
        self.config = config
        self.env = dict(extra_env or {})
        if database_url:
            self.env[url_env_var] = database_url
        self.secrets = secrets_of(database_url)
        self.commands: list[str] = []

    def alembic(self, *args: str) -> str:
        """Run `alembic -c <config> <args>` in the project directory; stdout, or AlembicError (scrubbed)."""
        argv = [*self.executable, "-c", self.config, *args]
        self.commands.append(" ".join(["alembic", *args]))
        rc, stdout, stderr = self._run(argv, self.project_dir, self.env)
        if rc != 0:
            detail = error_detail(stderr or stdout or "") or f"exit code {rc}"
            raise AlembicError(scrub(f"alembic {' '.join(args)} failed (rc={rc}): {detail}", self.secrets))
        return stdout or ""

    def current(self) -> list[str]:
        """Revisions the database is at ([] when it has none: base)."""
        return parse_revisions(self.alembic("current"))

    def heads(self) -> list[str]:
        """Head revisions of the migration scripts."""
        heads = parse_revisions(self.alembic("heads"))
        if not heads:
            raise AlembicError("alembic heads found no revision: is this the right project directory and config?")
        return heads

    def pending(self, current: list[str], target: str = "heads") -> list[dict[str, str]]:
        """Revisions an upgrade from current to target would apply, oldest first."""
        start = current[0] if len(current) == 1 else "base"
        entries = parse_history(self.alembic("history", "-r", f"{start}:{target}"))
        return [entry for entry in entries if entry["revision"] not in current]

    def parent(self, revision: str) -> str | None:
        """The revision before this one (None at the first revision)."""
        return parse_parent(self.alembic("show", revision))

    def downgrade_target(self, current: list[str], revision: str) -> str | None:
        """The revision a downgrade to `revision` ends at (None = base); resolves -N by walking parents."""
        steps = relative_steps(revision)
        if steps is None:
            return None if revision == "base" else revision
        if len(current) != 1:
            raise AlembicError(
                f"the database is at {len(current)} revisions ({', '.join(current) or 'base'}); "
                "a relative downgrade needs exactly one, give an explicit revision"
            )
        target: str | None = current[0]
        for _step in range(steps):
            if target is None:
                raise AlembicError(f"cannot downgrade {revision} from {current[0]}: fewer revisions than that")
            target = self.parent(target)
        return target

    def upgrade_sql(self, current: list[str], target: str = "heads") -> str:
        """Offline SQL of the upgrade (alembic --sql never connects)."""
        if len(current) > 1:
            raise AlembicError("the database is at several revisions; no single offline SQL range")
        rng = f"{current[0]}:{target}" if current else target
        return self.alembic("upgrade", rng, "--sql")

    def downgrade_sql(self, current: list[str], target: str | None) -> str:
        """Offline SQL of the downgrade from current to target (None = base)."""
        if len(current) != 1:
            raise AlembicError("offline downgrade SQL needs the database at exactly one revision")
        return self.alembic("downgrade", f"{current[0]}:{target or 'base'}", "--sql")

    def upgrade(self, target: str = "heads") -> None:
        self.alembic("upgrade", target)

    def downgrade(self, target: str | None) -> None:
        self.alembic("downgrade", target or "base")


def plan_and_apply(
    alembic: Alembic,
    action: str,
    revision: str | None = None,
    sql: bool = False,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Read current and heads, decide, apply unless check mode, verify; the module's result."""
    current = alembic.current()
    heads = alembic.heads()
    result: dict[str, Any] = {
        "action": action,
        "current": current,
        "heads": heads,
        "at_head": sorted(current) == sorted(heads),
        "changed": False,
        "pending": [],
        "before": current,
        "after": current,
    }
    if action in ("status", "upgrade"):
        target = revision or "heads"
        result["target"] = target
        at_target = result["at_head"] if target in ("head", "heads") else target in current
        if not at_target:
            result["pending"] = alembic.pending(current, target)
        if sql and not at_target:
            result["sql"] = alembic.upgrade_sql(current, target)
        if action == "status" or at_target:
            return result
        result["changed"] = True
        if check_mode:
            result["after"] = heads if target in ("head", "heads") else [target]
            return result
        alembic.upgrade(target)
        after = alembic.current()
        result["after"] = after
        result["at_head"] = sorted(after) == sorted(heads)
        ok = result["at_head"] if target in ("head", "heads") else target in after
        if not ok:
            raise AlembicError(
                f"alembic upgrade {target} finished but the database is at {', '.join(after) or 'base'} "
                f"(expected {', '.join(heads) if target in ('head', 'heads') else target})"
            )
        return result
    if action == "downgrade":
        wanted = revision or "-1"
        if not current:
            result["target"] = "base"
            return result
        target = alembic.downgrade_target(current, wanted)
        result["target"] = target or "base"
        if (target is None and not current) or (target is not None and current == [target]):
            return result
        if sql:
            result["sql"] = alembic.downgrade_sql(current, target)
        result["changed"] = True
        if check_mode:
            result["after"] = [target] if target else []
            return result
        alembic.downgrade(target)
        after = alembic.current()
        result["after"] = after
        result["at_head"] = sorted(after) == sorted(heads)
        if after != ([target] if target else []):
            raise AlembicError(
                f"alembic downgrade to {target or 'base'} finished but the database is at {', '.join(after) or 'base'}"
            )
        return result
    raise AlembicError(f"unknown action {action!r}: status, upgrade or downgrade")
