"""stratum.ops.pg_maintenance on real tables: REINDEX CONCURRENTLY shrinks, locks time out cleanly."""

from __future__ import annotations

import json
import threading

import pytest
from harness.ansible_run import assert_clean_failure, run_module, run_playbook
from pg_helpers import backend_pid, make_bloated_table, query, run_sql, start_async, unique, wait_until
from psycopg2 import sql

MODULE = "stratum.ops.pg_maintenance"


def index_state(pg, name):
    """(size, relfilenode, valid) of an index by name; None when it does not exist."""
    rows = query(
        pg,
        "SELECT pg_relation_size(c.oid), c.relfilenode, x.indisvalid FROM pg_class c "
        "JOIN pg_index x ON x.indexrelid = c.oid WHERE c.relname = %s",
        (name,),
    )
    return rows[0] if rows else None


def leftover_ccnew(pg) -> list[str]:
    return [
        r[0]
        for r in query(pg, "SELECT relname FROM pg_class WHERE relname LIKE '%%ccnew%%' OR relname LIKE '%%ccold%%'")
    ]


@pytest.fixture
def sparse_index_table(pg):
    """A table whose index on n is ~90 % empty pages after deletes and a VACUUM."""
    name = unique("sparse")
    ident = sql.Identifier(name)
    run_sql(pg, sql.SQL("CREATE TABLE {} (id int, n int)").format(ident))
    run_sql(pg, sql.SQL("INSERT INTO {} SELECT g, g FROM generate_series(1, 100000) g").format(ident))
    run_sql(pg, sql.SQL("CREATE INDEX {} ON {} (n)").format(sql.Identifier(f"{name}_n"), ident))
    run_sql(pg, sql.SQL("DELETE FROM {} WHERE n % 10 <> 0").format(ident))
    run_sql(pg, sql.SQL("VACUUM {}").format(ident))
    return name


def test_reindex_concurrently_really_runs_and_the_index_shrinks(postgres_server, pg, sparse_index_table):
    index = f"{sparse_index_table}_n"
    size_before, node_before, _valid = index_state(pg, index)
    result, _run = run_module(
        MODULE,
        {
            **postgres_server.login_args(),
            "operation": "reindex",
            "objects": [{"schema": "public", "name": index, "kind": "index"}],
        },
    )
    assert result.status == "changed", result.result
    assert result["statements"] == [f'REINDEX INDEX CONCURRENTLY "public"."{index}"']
    entry = result["results"][0]
    assert entry["result"] == "ok"
    size_after, node_after, valid = index_state(pg, index)
    assert node_after != node_before and valid
    assert entry["size_before"] == size_before and entry["size_after"] == size_after
    assert size_after < size_before / 3
    assert entry["duration_seconds"] >= 0
    assert leftover_ccnew(pg) == []


def test_check_mode_lists_statements_and_runs_none(postgres_server, pg, sparse_index_table):
    index = f"{sparse_index_table}_n"
    _size, node_before, _valid = index_state(pg, index)
    result, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "operation": "reindex", "objects": [f"public.{sparse_index_table}"]},
        check=True,
    )
    assert result.status == "changed", result.result
    assert result["statements"] == [f'REINDEX TABLE CONCURRENTLY "public"."{sparse_index_table}"']
    assert result["results"][0]["result"] == "check_mode"
    assert index_state(pg, index)[1] == node_before
    vac, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "operation": "vacuum_analyze", "objects": [sparse_index_table]},
        check=True,
    )
    assert vac["statements"] == [f'VACUUM (ANALYZE) "public"."{sparse_index_table}"']
    assert (
        query(pg, "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", (sparse_index_table,))[0][0]
        is None
    )


def test_lock_held_elsewhere_fails_on_lock_timeout_with_nothing_half_done(postgres_server, pg, sparse_index_table):
    index = f"{sparse_index_table}_n"
    second = unique("untouched")
    run_sql(pg, sql.SQL("CREATE TABLE {} (id int PRIMARY KEY)").format(sql.Identifier(second)))
    second_node = index_state(pg, f"{second}_pkey")[1]
    node_before = index_state(pg, index)[1]
    holder = postgres_server.connect()
    try:
        holder.cursor().execute(
            sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(sparse_index_table))
        )
        result, _run = run_module(
            MODULE,
            {
                **postgres_server.login_args(),
                "operation": "reindex",
                "objects": [sparse_index_table, second],
                "lock_timeout": 1,
            },
        )
    finally:
        holder.rollback()
        holder.close()
    assert_clean_failure(result, "lock_timeout", sparse_index_table, "1 later object(s) not touched")
    assert [r["result"] for r in result["results"]] == ["failed", "skipped"]
    assert index_state(pg, index)[1:] == (node_before, True)
    assert index_state(pg, f"{second}_pkey")[1] == second_node
    assert leftover_ccnew(pg) == []
    assert query(pg, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")[0][0] == 0


def test_statement_timeout_bounds_each_statement(postgres_server, sparse_index_table):
    holder = postgres_server.connect()
    try:
        holder.cursor().execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(sparse_index_table))
        )
        result, _run = run_module(
            MODULE,
            {
                **postgres_server.login_args(),
                "operation": "analyze",
                "objects": [sparse_index_table],
                "lock_timeout": 30,
                "statement_timeout": 1,
            },
        )
    finally:
        holder.rollback()
        holder.close()
    assert_clean_failure(result, "statement_timeout")


def test_blocking_reindex_needs_allow_blocking(postgres_server, pg, sparse_index_table):
    refused, _run = run_module(
        MODULE,
        {
            **postgres_server.login_args(),
            "operation": "reindex",
            "objects": [sparse_index_table],
            "concurrently": False,
        },
    )
    assert_clean_failure(refused, "allow_blocking")
    allowed, _run = run_module(
        MODULE,
        {
            **postgres_server.login_args(),
            "operation": "reindex",
            "objects": [sparse_index_table],
            "concurrently": False,
            "allow_blocking": True,
        },
    )
    assert allowed.status == "changed", allowed.result
    assert allowed["statements"] == [f'REINDEX TABLE "public"."{sparse_index_table}"']


def test_bloat_info_over_threshold_feeds_vacuum_analyze(postgres_server, pg, tmp_path):
    schema = unique("feed")
    run_sql(pg, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    make_bloated_table(pg, "events", rows=40000, delete_pct=70, schema=schema)
    playbook = tmp_path / "feed.yml"
    login = postgres_server.login_args()
    playbook.write_text(
        json.dumps(
            [
                {
                    "name": "bloat to maintenance",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "module_defaults": {"group/stratum.ops.postgres": login},
                    "tasks": [
                        {
                            "name": "Measure",
                            "stratum.ops.pg_bloat_info": {
                                "schemas": [schema],
                                "include_indexes": True,
                                "min_size_bytes": 0,
                            },
                            "register": "bloat",
                        },
                        {
                            "name": "Vacuum",
                            "stratum.ops.pg_maintenance": {
                                "operation": "vacuum_analyze",
                                "objects": "{{ bloat.over_threshold }}",
                            },
                        },
                    ],
                }
            ]
        )
    )
    run = run_playbook(playbook)
    assert run.rc == 0, run.output[-3000:]
    flagged = {(e["kind"], e["name"]) for e in run.task("Measure")["over_threshold"]}
    assert ("table", "events") in flagged
    vacuum = run.task("Vacuum")
    # The table and its index collapse into one VACUUM of the table.
    assert vacuum["statements"] == [f'VACUUM (ANALYZE) "{schema}"."events"']
    rows = query(
        pg, "SELECT n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = %s", (schema,)
    )
    assert rows == [(0, True)]


def test_hostile_identifiers_are_quoted_never_executed(postgres_server, pg):
    evil = 'evil"; DROP TABLE victim; --'
    run_sql(pg, "CREATE TABLE IF NOT EXISTS victim (id int)")
    run_sql(pg, sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(evil)))
    result, _run = run_module(
        MODULE, {**postgres_server.login_args(), "operation": "vacuum", "objects": [{"schema": "public", "name": evil}]}
    )
    assert result.status == "changed", result.result
    assert result["statements"] == ['VACUUM "public"."evil""; DROP TABLE victim; --"']
    missing, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "operation": "analyze", "objects": ["public.x'; DROP TABLE victim; --"]},
    )
    assert_clean_failure(missing, "no table or index named")
    assert query(pg, "SELECT to_regclass('victim') IS NOT NULL")[0][0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"operation": "cluster", "objects": ["t"]}, "operation"),
        ({"operation": "vacuum", "objects": [42]}, "not a name"),
        ({"operation": "vacuum", "objects": ["no_such_table"]}, "no table or index named 'no_such_table'"),
        ({"operation": "vacuum", "objects": ["t"], "lock_timeout": 0}, "lock_timeout"),
    ],
)
def test_bad_input_fails_with_clear_message(postgres_server, args, fragment):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), **args})
    assert_clean_failure(result, fragment)


def test_no_objects_changes_nothing(postgres_server):
    result, _run = run_module(MODULE, {**postgres_server.login_args(), "operation": "vacuum", "objects": []})
    assert result.status == "ok", result.result
    assert result["statements"] == [] and not result.changed


def test_backend_killed_midway_fails_clearly(postgres_server, pg, sparse_index_table):
    holder = postgres_server.connect()
    outcome = {}
    try:
        holder.cursor().execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(sparse_index_table))
        )

        def run():
            outcome["result"], _run = run_module(
                MODULE,
                {
                    **postgres_server.login_args(),
                    "operation": "vacuum",
                    "objects": [sparse_index_table],
                    "lock_timeout": 60,
                },
            )

        worker = threading.Thread(target=run)
        worker.start()

        def waiting_module_pid():
            rows = query(
                pg,
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'stratum.ops' AND wait_event_type = 'Lock'",
            )
            return rows[0][0] if rows else None

        assert wait_until(lambda: waiting_module_pid() is not None, timeout=120)
        query(pg, "SELECT pg_terminate_backend(%s)", (waiting_module_pid(),))
        worker.join(timeout=300)
    finally:
        holder.rollback()
        holder.close()
    assert_clean_failure(outcome["result"], "VACUUM", sparse_index_table, "server closed the connection")


def test_next_reindex_drops_the_invalid_ccnew_copy_an_interrupted_run_left(postgres_server, pg, sparse_index_table):
    """An earlier REINDEX CONCURRENTLY killed mid-way (here: its backend terminated) leaves <index>_ccnew invalid."""
    index = f"{sparse_index_table}_n"
    snapshot = postgres_server.connect()
    snapshot.set_session(isolation_level="REPEATABLE READ")
    snapshot.cursor().execute("SELECT 1")  # an old snapshot: the reindex waits for it after creating _ccnew
    reindex = start_async(postgres_server, f'REINDEX INDEX CONCURRENTLY "public"."{index}"')
    try:
        assert wait_until(lambda: index_state(pg, f"{index}_ccnew") is not None), "REINDEX never created _ccnew"
        run_sql(pg, "SELECT pg_terminate_backend(%s)", (backend_pid(reindex),))
    finally:
        snapshot.rollback()
        snapshot.close()
    reindexing = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'REINDEX%%'"
    assert wait_until(lambda: query(pg, reindexing)[0][0] == 0)
    assert index_state(pg, f"{index}_ccnew")[2] is False  # the leftover: invalid
    result, _run = run_module(
        MODULE,
        {**postgres_server.login_args(), "operation": "reindex", "objects": [f"public.{index}"]},
    )
    assert result.status == "changed", result.result
    entry = result["results"][0]
    assert entry["result"] == "ok"
    assert entry["dropped_leftovers"] == [f"public.{index}_ccnew"]
    assert leftover_ccnew(pg) == []
    assert index_state(pg, index)[2] is True
