"""Pure logic of the PostgreSQL module_utils: bloat arithmetic, lock chains, filters, object parsing."""

from __future__ import annotations

import pytest
from ansible_collections.stratum.ops.plugins.module_utils import postgres_bloat as bloat
from ansible_collections.stratum.ops.plugins.module_utils.postgres import (
    PostgresError,
    connection_kwargs,
    describe_target,
)
from ansible_collections.stratum.ops.plugins.module_utils.postgres_activity import (
    blocking_chains,
    usage_pct,
    validate_terminate_filters,
)
from ansible_collections.stratum.ops.plugins.module_utils.postgres_maintenance import parse_object, plan_maintenance

BS = 8192


def test_heap_with_exactly_the_pages_its_rows_need_has_no_bloat():
    # 100-byte rows: 24 header + 104 data + 4 line pointer = 132 bytes; 8168 usable bytes per page.
    rows = 10000
    pages = -(-rows * 132 // (BS - 24))
    assert bloat.estimate_heap_bloat(
        size_bytes=pages * BS, block_size=BS, tuples=rows, data_width=100, natts=2, max_null_frac=0
    ) == (0, 0.0)


def test_heap_with_sixty_percent_rows_gone_reports_sixty_percent():
    rows = 10000
    pages = -(-rows * 132 // (BS - 24))
    nbytes, pct = bloat.estimate_heap_bloat(
        size_bytes=pages * BS, block_size=BS, tuples=rows * 0.4, data_width=100, natts=2, max_null_frac=0
    )
    assert pct == pytest.approx(60, abs=1)
    assert nbytes == pytest.approx(pages * BS * 0.6, rel=0.02)


def test_fillfactor_space_is_not_bloat():
    rows = 10000
    full_pages = -(-rows * 132 // (BS - 24))
    with_ff = bloat.estimate_heap_bloat(
        size_bytes=2 * full_pages * BS,
        block_size=BS,
        tuples=rows,
        data_width=100,
        natts=2,
        max_null_frac=0,
        fillfactor=50,
    )
    assert with_ff[1] < 1


def test_null_bitmap_widens_the_tuple_header():
    kwargs = {"size_bytes": 100 * BS, "block_size": BS, "tuples": 5000, "data_width": 10, "natts": 9}
    assert (
        bloat.estimate_heap_bloat(**kwargs, max_null_frac=0.5)[1]
        < bloat.estimate_heap_bloat(**kwargs, max_null_frac=0)[1]
    )


def test_empty_relation_has_no_bloat():
    assert bloat.estimate_heap_bloat(size_bytes=0, block_size=BS, tuples=0, data_width=8, natts=1, max_null_frac=0) == (
        0,
        0.0,
    )
    assert bloat.estimate_btree_bloat(size_bytes=BS, block_size=BS, tuples=0, data_width=4, max_null_frac=0) == (0, 0.0)


def test_btree_estimate_grows_when_entries_are_removed():
    full = bloat.estimate_btree_bloat(size_bytes=300 * BS, block_size=BS, tuples=100000, data_width=4, max_null_frac=0)
    sparse = bloat.estimate_btree_bloat(size_bytes=300 * BS, block_size=BS, tuples=10000, data_width=4, max_null_frac=0)
    assert full[1] < 10 < 80 < sparse[1]


def test_exact_heap_bloat_is_dead_plus_free_less_fillfactor_reserve():
    stat = {"table_len": 1000 * BS, "dead_tuple_len": 300 * BS, "free_space": 100 * BS}
    assert bloat.exact_heap_bloat(stat) == (400 * BS, 40.0)
    assert bloat.exact_heap_bloat(stat, fillfactor=90)[1] == pytest.approx(30.0)


def test_exact_btree_bloat_from_leaf_density():
    stat = {"index_size": 101 * BS, "avg_leaf_density": 45.0, "leaf_pages": 100, "empty_pages": 0, "deleted_pages": 0}
    assert bloat.exact_btree_bloat(stat, BS)[1] == pytest.approx(49.5, abs=0.1)


def test_dead_tuple_pct_is_dead_over_live_plus_dead():
    assert bloat.dead_tuple_pct(40, 60) == 60.0
    assert bloat.dead_tuple_pct(0, 0) == 0.0
    assert bloat.dead_tuple_pct(None, 3) is None


def test_live_count_prefers_pg_stat_once_it_saw_activity():
    row = {"n_live_tup": 400, "reltuples": 1000, "n_tup_changes": 1600}
    assert bloat.live_tuple_count(row) == 400
    assert bloat.live_tuple_count({"n_live_tup": 0, "reltuples": 1000, "n_tup_changes": 0}) == 1000
    assert bloat.live_tuple_count({"n_live_tup": 0, "reltuples": -1, "n_tup_changes": 0}) is None


def test_stats_are_stale_when_never_analyzed_or_much_changed():
    assert bloat.stats_are_stale({"natts": 3, "nstats": 0, "reltuples": -1, "n_mod_since_analyze": 0})
    assert bloat.stats_are_stale({"natts": 3, "nstats": 3, "reltuples": 1000, "n_mod_since_analyze": 600})
    assert not bloat.stats_are_stale({"natts": 3, "nstats": 3, "reltuples": 1000, "n_mod_since_analyze": 100})


def entry(size, pct, stale=False):
    return {"size_bytes": size, "bloat_pct": pct, "stats_stale": stale}


def test_min_size_and_threshold_decide_what_is_flagged():
    assert bloat.is_over(entry(2 << 20, 30), 30, 1 << 20)
    assert not bloat.is_over(entry(2 << 20, 29.9), 30, 1 << 20)
    assert not bloat.is_over(entry(8192, 99), 30, 1 << 20)
    assert not bloat.is_over(entry(2 << 20, None), 30, 1 << 20)


def test_hybrid_confirms_near_threshold_and_stale_but_never_small():
    assert bloat.needs_confirmation(entry(2 << 20, 25), 30, 1 << 20)
    assert not bloat.needs_confirmation(entry(2 << 20, 5), 30, 1 << 20)
    assert bloat.needs_confirmation(entry(2 << 20, 5, stale=True), 30, 1 << 20)
    assert not bloat.needs_confirmation(entry(8192, 99, stale=True), 30, 1 << 20)


def test_blocking_chain_follows_waiting_blockers_to_the_root():
    chains = {c["pid"]: c for c in blocking_chains({30: [10, 20], 20: [10]})}
    assert chains[30]["chain"] == [30, 20, 10]
    assert chains[30]["root_blocker"] == 10
    assert chains[20]["chain"] == [20, 10]


def test_blocking_chain_stops_at_a_cycle():
    chains = {c["pid"]: c for c in blocking_chains({1: [2], 2: [1]})}
    assert chains[1]["chain"] == [1, 2]


def test_usage_pct_is_share_of_max_connections():
    assert usage_pct(80, 100) == 80.0
    assert usage_pct(0, 0) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"usename": None, "all_users": False}, "usename is required"),
        ({"usename": "api", "all_users": True}, "mutually exclusive"),
        ({"usename": "api", "states": []}, "at least one"),
        ({"usename": "api", "states": ["sleeping"]}, "unknown session state"),
        ({"usename": "api", "idle_seconds": -1}, "idle_seconds"),
        ({"usename": "api", "max_terminations": 0}, "max_terminations"),
    ],
)
def test_terminate_filters_refuse_bad_input(kwargs, fragment):
    args = {"usename": None, "all_users": False, "states": ["idle"], "idle_seconds": 600, "max_terminations": None}
    args.update(kwargs)
    with pytest.raises(PostgresError, match=fragment):
        validate_terminate_filters(**args)


def test_objects_accept_names_dotted_names_and_bloat_entries():
    assert parse_object("events") == {"schema": None, "name": "events", "kind": None}
    assert parse_object("audit.events") == {"schema": "audit", "name": "events", "kind": None}
    bloat_entry = {"kind": "index", "schema": "public", "name": "events_pkey", "table": "events", "bloat_pct": 40}
    assert parse_object(bloat_entry) == {"schema": "public", "name": "events_pkey", "kind": "index"}


@pytest.mark.parametrize("bad", [123, "", {"schema": "public"}, {"name": "x", "kind": "view"}])
def test_objects_that_are_not_names_are_refused(bad):
    with pytest.raises(PostgresError):
        parse_object(bad)


def test_blocking_reindex_needs_allow_blocking_before_any_lookup():
    with pytest.raises(PostgresError, match="allow_blocking"):
        plan_maintenance(None, operation="reindex", objects=["t"], concurrently=False)
    with pytest.raises(PostgresError, match="operation"):
        plan_maintenance(None, operation="cluster", objects=["t"])


def test_connection_defaults_and_target_description_never_show_password():
    params = {"login_host": "db", "login_port": None, "login_user": None, "login_password": "s3cret", "login_db": None}
    kw = connection_kwargs(params)
    assert (kw["host"], kw["port"], kw["user"], kw["dbname"]) == ("db", 5432, "postgres", "postgres")
    assert "s3cret" not in describe_target(params)
