"""Pure logic of module_utils/alembic.py: output parsing, URL scrubbing, and the plan (fake alembic runner)."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils.alembic import (
    Alembic,
    AlembicError,
    parse_history,
    parse_parent,
    parse_revisions,
    plan_and_apply,
    scrub,
    secrets_of,
)

URL = "postgresql+psycopg2://app:p%40ss-W0rd-91@db.internal:5432/stratum"
CHAIN = {"r1": None, "r2": "r1", "r3": "r2"}


class FakeAlembic:
    """A stand-in for the alembic CLI over a linear chain r1 -> r2 -> r3, recording every argv and env."""

    def __init__(self, current: str | None, fail_on: str | None = None, stderr: str = "") -> None:
        self.current = current
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.fail_on = fail_on
        self.stderr = stderr

    def __call__(self, argv: list[str], cwd: str, env: dict[str, str]) -> tuple[int, str, str]:
        self.calls.append((argv, env))
        args = argv[3:]
        if self.fail_on == args[0]:
            return 1, "", self.stderr
        if args[0] == "current":
            return (
                0,
                (f"{self.current} (head)\n" if self.current == "r3" else f"{self.current}\n" if self.current else ""),
                "",
            )
        if args[0] == "heads":
            return 0, "r3 (head)\n", "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n"
        if args[0] == "history":
            start = args[2].split(":")[0]
            revs = ["r1", "r2", "r3"]
            todo = revs if start == "base" else revs[revs.index(start) :]
            lines = [f"{CHAIN[r] or '<base>'} -> {r}{' (head)' if r == 'r3' else ''}, step {r}" for r in reversed(todo)]
            return 0, "\n".join(lines) + "\n", ""
        if args[0] == "show":
            return 0, f"Rev: {args[1]}\nParent: {CHAIN[args[1]] or '<base>'}\n", ""
        if args[0] in ("upgrade", "downgrade"):
            if "--sql" in args:
                return 0, f"-- {args[0]} {args[1]}\n", ""
            self.current = None if args[1] == "base" else ("r3" if args[1] in ("heads", "head") else args[1])
            return 0, "", ""
        raise AssertionError(argv)


def make(fake: FakeAlembic) -> Alembic:
    return Alembic(fake, "/srv/app", executable=["/venv/bin/alembic"], database_url=URL)


def test_revisions_parse_and_ignore_log_lines():
    out = "INFO  [alembic.runtime.migration] Will assume transactional DDL.\nab12cd (head)\nef34 (effective head)\n"
    assert parse_revisions(out) == ["ab12cd", "ef34"]
    assert parse_revisions("") == []


def test_history_parses_oldest_first():
    out = "r1 -> r2 (head), add orders\n<base> -> r1, create accounts\n"
    assert parse_history(out) == [
        {"revision": "r1", "down_revision": "<base>", "message": "create accounts"},
        {"revision": "r2", "down_revision": "r1", "message": "add orders"},
    ]


def test_parent_of_first_revision_is_none_and_merges_need_an_explicit_target():
    assert parse_parent("Rev: r1\nParent: <base>\n") is None
    assert parse_parent("Rev: r2\nParent: r1\n") == "r1"
    with pytest.raises(AlembicError, match="explicit revision"):
        parse_parent("Rev: m\nParent: a, b\n")


def test_url_and_password_are_scrubbed():
    secrets = secrets_of(URL)
    text = f"could not connect with {URL} (password p@ss-W0rd-91)"
    cleaned = scrub(text, secrets)
    assert "p@ss-W0rd-91" not in cleaned
    assert "p%40ss-W0rd-91" not in cleaned
    assert URL not in cleaned


def test_url_travels_only_in_the_environment():
    fake = FakeAlembic("r1")
    plan_and_apply(make(fake), "upgrade")
    for argv, env in fake.calls:
        assert URL not in " ".join(argv)
        assert env["DATABASE_URL"] == URL


def test_upgrade_from_r1_applies_r2_r3_and_verifies_head():
    fake = FakeAlembic("r1")
    result = plan_and_apply(make(fake), "upgrade", sql=True)
    assert result["changed"] is True
    assert [p["revision"] for p in result["pending"]] == ["r2", "r3"]
    assert result["after"] == ["r3"]
    assert result["at_head"] is True
    assert result["sql"] == "-- upgrade r1:heads\n"


def test_upgrade_at_head_changes_nothing():
    fake = FakeAlembic("r3")
    result = plan_and_apply(make(fake), "upgrade")
    assert result["changed"] is False
    assert not any(argv[3] == "upgrade" for argv, _unused in fake.calls)


def test_check_mode_upgrade_reports_and_runs_no_upgrade():
    fake = FakeAlembic(None)
    result = plan_and_apply(make(fake), "upgrade", sql=True, check_mode=True)
    assert result["changed"] is True
    assert result["after"] == ["r3"]
    assert fake.current is None
    assert [argv[3:] for argv, _unused in fake.calls if argv[3] == "upgrade"] == [["upgrade", "heads", "--sql"]]


def test_relative_downgrade_walks_parents():
    fake = FakeAlembic("r3")
    result = plan_and_apply(make(fake), "downgrade", revision="-2")
    assert result["target"] == "r1"
    assert fake.current == "r1"


def test_downgrade_at_base_changes_nothing():
    result = plan_and_apply(make(FakeAlembic(None)), "downgrade")
    assert result["changed"] is False
    assert result["target"] == "base"


def test_downgrade_to_the_current_revision_changes_nothing():
    fake = FakeAlembic("r2")
    assert plan_and_apply(make(fake), "downgrade", revision="r2")["changed"] is False


def test_failure_message_is_scrubbed_and_names_the_command():
    fake = FakeAlembic("r1", fail_on="current", stderr=f"Traceback...\nsqlalchemy.exc.OperationalError: bad {URL}\n")
    with pytest.raises(AlembicError) as exc:
        plan_and_apply(make(fake), "status")
    assert "alembic current failed" in str(exc.value)
    assert "p@ss-W0rd-91" not in str(exc.value)
    assert "p%40ss-W0rd-91" not in str(exc.value)


def test_error_detail_keeps_the_exception_not_the_traceback():
    from ansible_collections.stratum.ops.plugins.module_utils.alembic import error_detail

    out = (
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/python3.12/site-packages/psycopg2/__init__.py", line 122, in connect\n'
        "    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)\n"
        'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "127.0.0.1", '
        "port 1 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)\n"
    )
    detail = error_detail(out)
    assert detail.startswith("sqlalchemy.exc.OperationalError")
    assert "Connection refused" in detail
    assert "Traceback" not in detail
    assert "File " not in detail
