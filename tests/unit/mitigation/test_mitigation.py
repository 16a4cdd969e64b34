"""Revertible mitigations (module_utils/mitigation.py, filter/mitigation.py): records, storage, checks, revert plans."""

from __future__ import annotations

import base64
import json
import random
import zlib

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.filter import mitigation as f
from ansible_collections.stratum.ops.plugins.module_utils import mitigation as m

RUNBOOK = "incident_rate_limit"
T0 = "2026-05-01T03:00:00+00:00"
T1 = "2026-05-01T03:10:00+00:00"
T2 = "2026-05-01T03:20:00+00:00"


def record(service="api", run="r1", at=T0, changes=None, reverted=None):
    return {
        "v": 1,
        "runbook": RUNBOOK,
        "service": service,
        "environment": "staging",
        "run": run,
        "at": at,
        "by": "alice",
        "changes": changes or [],
        "reverted": reverted,
    }


def env(key, old, new):
    return {"kind": "env", "key": key, "from": old, "to": new}


# ------------------------------------------------------------------------------------------------ change entries


def test_env_changes_keep_absent_as_a_value_and_skip_unchanged_keys():
    before = {"META_RATE_LIMIT_BUFFER": None, "LOG_LEVEL": "info"}
    wanted = {"META_RATE_LIMIT_BUFFER": 0.2, "LOG_LEVEL": "info"}
    assert m.env_changes(before, wanted) == [env("META_RATE_LIMIT_BUFFER", None, "0.2")]
    # only what the platform says it changed
    assert m.env_changes(before, wanted, changed_keys=[]) == []
    # unsetting a present key: its value is the previous one, null the new one
    assert m.env_changes({"X": "1"}, {"X": None}) == [env("X", "1", None)]
    assert m.env_changes({}, {"FLAG": True}) == [env("FLAG", None, "true")]


def test_a_value_from_a_reference_is_marked_so_revert_leaves_it_to_a_person():
    changes = m.env_changes({"CELERY_QUEUES": None}, {"CELERY_QUEUES": "high"}, refs=["CELERY_QUEUES"])
    assert changes == [{**env("CELERY_QUEUES", None, "high"), "from_ref": "reference"}]


def test_credentials_never_go_into_a_record():
    with pytest.raises(m.MitigationError, match="looks like a credential"):
        m.env_changes({}, {"DATABASE_PASSWORD": "x"})
    with pytest.raises(m.MitigationError, match="looks like a credential"):
        m.env_changes({}, {"DATABASE_URL": "postgres://u:p@h/db"})


def test_scale_changes_cover_replicas_and_hpa_bounds_only_when_an_hpa_exists():
    recalled = {"replicas": 4, "hpa": {"name": "w", "min": 2, "max": 10}}
    assert m.scale_changes(recalled, replicas=8, max_replicas=20) == [
        {"kind": "replicas", "key": "replicas", "from": 4, "to": 8},
        {"kind": "hpa_max", "key": "maxReplicas", "from": 10, "to": 20},
    ]
    assert m.scale_changes(recalled, replicas=4, min_replicas=2) == []
    assert m.scale_changes({"replicas": 1, "hpa": None}, replicas=3, min_replicas=2) == [
        {"kind": "replicas", "key": "replicas", "from": 1, "to": 3}
    ]


def test_flag_change_only_when_this_run_set_it():
    set_now = {"changed": True, "existed": False, "ttl": 3600}
    assert m.flag_change("pause:x", "true", set_now, at=T0) == [
        {"kind": "flag", "key": "pause:x", "from": None, "to": "true", "expires": "2026-05-01T04:00:00+00:00"}
    ]
    assert m.flag_change("pause:x", "true", {"changed": False, "existed": True, "ttl": 100}) == []


# ------------------------------------------------------------------------------------------------ records


def test_new_record_then_a_later_step_of_the_same_run_adds_to_it():
    first = m.new_record({}, [env("A", None, "1")], RUNBOOK, "api", "r1", at=T0, by="alice", environment="staging")
    assert first == record(changes=[env("A", None, "1")])
    second = m.new_record(first, [env("B", "x", "y"), env("A", "1", "2")], RUNBOOK, "api", "r1", at=T1, by="alice")
    # same run: A keeps its first previous value, B is added, the record keeps the run's first time
    assert second["changes"] == [env("A", None, "2"), env("B", "x", "y")]
    assert second["at"] == T0 and second["environment"] == "staging"


def test_another_run_starts_a_new_record_and_no_change_writes_nothing():
    old = record(changes=[env("A", None, "1")])
    assert m.new_record(old, [], RUNBOOK, "api", "r2", at=T1) == old
    assert m.new_record(old, [env("A", "1", "1")], RUNBOOK, "api", "r2", at=T1) == old
    fresh = m.new_record(old, [env("A", "1", "5")], RUNBOOK, "api", "r2", at=T1, by="bob")
    assert (fresh["run"], fresh["at"], fresh["by"], fresh["changes"]) == ("r2", T1, "bob", [env("A", "1", "5")])


def test_a_reverted_record_of_the_same_run_is_not_extended():
    old = record(changes=[env("A", None, "1")], reverted={"run": "r9", "at": T1})
    new = m.new_record(old, [env("B", None, "1")], RUNBOOK, "api", "r1", at=T2)
    assert new["changes"] == [env("B", None, "1")] and new["reverted"] is None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"kind": "size", "key": "x"}, "kind must be one of"),
        ({"kind": "env", "key": ""}, "needs its key"),
        ({"kind": "env", "key": "1BAD"}, "not an environment variable name"),
        ({"kind": "replicas", "key": "replicas", "from": "two", "to": 3}, "whole number"),
        ("nope", "must be a dict"),
    ],
)
def test_bad_changes_are_refused_with_what_is_wrong(change, fragment):
    with pytest.raises(m.MitigationError, match=fragment):
        m.new_record({}, [change], RUNBOOK, "api", "r1")


def test_record_needs_a_runbook_and_a_run():
    with pytest.raises(m.MitigationError, match="runbook must be"):
        m.new_record({}, [], "Bad Name", "api", "r1")
    with pytest.raises(m.MitigationError, match="run's id"):
        m.new_record({}, [], RUNBOOK, "api", "")


# ------------------------------------------------------------------------------------------------ storage


def test_kubernetes_annotation_holds_the_record_as_json():
    rec = record(changes=[env("A", None, "1")])
    out = m.encode(rec, "kubernetes", RUNBOOK)
    assert list(out["annotations"]) == ["stratum.ops/mitigation.incident_rate_limit"]
    assert json.loads(out["annotations"]["stratum.ops/mitigation.incident_rate_limit"]) == rec


def test_ecs_tags_fit_the_tag_rules_and_round_trip():
    rec = record(changes=[env(f"VAR_{i}", "x" * 40, "y" * 40) for i in range(12)])
    out = m.encode_tags(rec, RUNBOOK, {"other": "kept", "stratum.ops/mitigation.incident_rate_limit/9": "stale"})
    assert len(out["tags"]) > 1, "the test needs a record that spans several tags"
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +-=._:/@")
    for key, value in out["tags"].items():
        assert len(value) <= 256 and set(value) <= allowed and len(key) <= 128 and set(key) <= allowed
    assert out["remove"] == {"stratum.ops/mitigation.incident_rate_limit/9": "stale"}
    assert m.decode_tags({**out["tags"], "other": "kept"}, RUNBOOK) == rec
    # writing the same record again sets nothing
    assert m.encode_tags(rec, RUNBOOK, out["tags"])["set"] == {}


def test_ecs_tags_that_do_not_decode_are_reported():
    with pytest.raises(m.MitigationError, match="incomplete"):
        m.decode_tags({"stratum.ops/mitigation.incident_rate_limit/1": "abc"}, RUNBOOK)
    with pytest.raises(m.MitigationError, match="readable"):
        m.decode_tags({"stratum.ops/mitigation.incident_rate_limit/0": "not base64!"}, RUNBOOK)
    assert m.decode_tags({"unrelated": "x"}, RUNBOOK) == {}


def test_a_record_too_big_for_the_tags_is_refused():
    noise = base64.b64encode(random.Random(7).randbytes(9000)).decode()  # does not compress
    big = record(changes=[env(f"VAR_{i}", noise[i * 300 : i * 300 + 300], "y") for i in range(30)])
    assert len(base64.b64encode(zlib.compress(json.dumps(big).encode(), 9))) > 8 * 256
    with pytest.raises(m.MitigationError, match="ECS tags"):
        m.encode_tags(big, RUNBOOK)


def test_compose_file_keeps_the_other_services_records():
    existing = json.dumps({"workers": record(service="workers")})
    text = m.encode(record(), "compose", RUNBOOK, service="api", existing=existing)["content"]
    assert json.loads(text) == {"workers": record(service="workers"), "api": record()}
    with pytest.raises(m.MitigationError, match="not JSON"):
        m.encode(record(), "compose", RUNBOOK, service="api", existing="{oops")


# ------------------------------------------------------------------------------------------------ reading


def deployment(env_list, replicas=3, annotations=None):
    return {
        "metadata": {"name": "stratum-api", "annotations": annotations or {}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "api", "env": env_list}]}}},
    }


def test_kubernetes_read_gives_record_replicas_hpa_and_only_the_asked_env():
    rec = record(changes=[env("CIRCUIT_BREAKER_DISABLED", None, "true")])
    dep = deployment(
        [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "CIRCUIT_BREAKER_DISABLED", "value": "true"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        ],
        annotations={"stratum.ops/mitigation.incident_rate_limit": json.dumps(rec)},
    )
    hpa = {"metadata": {"name": "stratum-api"}, "spec": {"minReplicas": 2, "maxReplicas": 6}}
    got = m.read_current("kubernetes", RUNBOOK, ["DB_PASSWORD", "MISSING"], deployment=dep, container="api", hpa=hpa)
    assert got == {
        "record": rec,
        "replicas": 3,
        "hpa": {"name": "stratum-api", "min": 2, "max": 6},
        # the record's own keys are read too; a secret reference is named, its value never read
        "env": {"CIRCUIT_BREAKER_DISABLED": "true", "DB_PASSWORD": None, "MISSING": None},
        "env_refs": ["DB_PASSWORD"],
    }
    with pytest.raises(m.MitigationError, match="no container 'web'"):
        m.read_current("kubernetes", RUNBOOK, [], deployment=dep, container="web")


def test_ecs_read_uses_the_task_definition_and_the_service_tags():
    rec = record(changes=[env("CAPI_BATCH_SIZE", "200", "1000")])
    tags = m.encode_tags(rec, RUNBOOK)["tags"]
    definition = {
        "service": {"desired_count": 2},
        "task_definition": {
            "containerDefinitions": [
                {"name": "worker", "environment": [{"name": "CAPI_BATCH_SIZE", "value": "1000"}], "secrets": []}
            ]
        },
    }
    got = f.mitigation_read({"definition": definition, "tags": tags, "container": "worker"}, "ecs", RUNBOOK)
    assert got == {"record": rec, "replicas": 2, "hpa": None, "env": {"CAPI_BATCH_SIZE": "1000"}, "env_refs": []}


def test_compose_read_takes_the_raw_values_set_env_writes():
    rec = record(service="workers", changes=[env("CELERY_QUEUES", None, "high,default")])
    reads = {
        "env_text": "# comment\nexport LOG_LEVEL = debug\nCELERY_QUEUES=high,default\n",
        "record_text": json.dumps({"workers": rec}),
        "replicas": "3",
    }
    got = f.mitigation_read(reads, "compose", RUNBOOK, ["LOG_LEVEL", "NOPE"], service="workers")
    assert got["record"] == rec and got["replicas"] == 3
    assert got["env"] == {"CELERY_QUEUES": "high,default", "LOG_LEVEL": "debug", "NOPE": None}
    assert f.mitigation_read({"record_text": ""}, "compose", RUNBOOK, service="api")["record"] == {}


# ------------------------------------------------------------------------------------------------ checks


def test_scale_up_never_shrinks():
    refused = m.scale_check(8, 4, direction="up", service="workers")
    assert not refused["allowed"]
    assert "up to 4 would lower it from 8 replicas" in refused["reason"] and "nothing was changed" in refused["reason"]
    assert m.scale_check(8, 8, direction="up")["allowed"]
    assert m.scale_check(8, 16, direction="up")["direction"] == "up"


def test_scale_down_stops_at_the_floor_and_zero_needs_the_floor_by_name():
    refused = m.scale_check(4, 0, direction="down", floor=1, floor_var="incident_db_connections_min_replicas")
    assert not refused["allowed"]
    assert "below the floor of 1 (incident_db_connections_min_replicas)" in refused["reason"]
    assert "incident_db_connections_min_replicas: 0 by name" in refused["reason"]
    assert m.scale_check(4, 0, direction="down", floor=0)["allowed"]
    assert not m.scale_check(6, 2, direction="down", floor=3)["allowed"]
    # a scale-down that finds fewer replicas than asked raises them (the floor still holds)
    assert m.scale_check(1, 2, direction="down", floor=1)["allowed"]
    # any direction: shrinking below the floor is refused, growing is not
    assert not m.scale_check(3, 0, direction="any", floor=1)["allowed"]
    assert m.scale_check(0, 2, direction="any", floor=1)["allowed"]


def test_scale_respects_the_hpa_bounds_including_the_ones_this_run_sets():
    hpa = {"name": "stratum-workers", "min": 2, "max": 10}
    over = m.scale_check(4, 12, direction="up", hpa=hpa, service="workers")
    assert not over["allowed"] and "allows at most 10" in over["reason"]
    under = m.scale_check(4, 1, direction="down", floor=1, hpa=hpa)
    assert not under["allowed"] and "keeps at least 2" in under["reason"]
    assert m.scale_check(4, 12, hpa=hpa, max_replicas=20)["allowed"]
    assert m.scale_check(4, 12, hpa=hpa, max_replicas=20)["hpa"] == {"name": "stratum-workers", "min": 2, "max": 20}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [((1, -1), "replicas must be"), ((1, "x"), "whole number"), ((1, 2, "sideways"), "direction must be")],
)
def test_scale_check_bad_input(args, fragment):
    with pytest.raises(m.MitigationError, match=fragment):
        m.scale_check(*args)
    with pytest.raises(AnsibleFilterError, match=fragment):
        f.mitigation_scale_check({"replicas": args[0]}, *args[1:])


def test_pool_size_must_fit_max_connections_minus_reserved():
    ok = m.pool_check(20, 4, 100, superuser_reserved=3, service="api")
    assert ok["allowed"] and ok["needed"] == 80 and ok["available"] == 97
    refused = m.pool_check(25, 4, 100, superuser_reserved=3, reserved=2, service="api")
    assert not refused["allowed"]
    assert refused["reason"] == (
        "DATABASE_POOL_SIZE=25 x 4 replicas of api = 100 connections, more than the 95 PostgreSQL allows "
        "(max_connections 100 - superuser_reserved_connections 3 - reserved_connections 2); nothing was changed: "
        "ask for a pool size of at most 23, or raise max_connections"
    )


def test_pool_check_counts_the_hpa_maximum():
    activity = {"max_connections": 100, "superuser_reserved_connections": 3, "reserved_connections": 0}
    got = f.mitigation_pool_check(activity, 20, {"replicas": 2, "hpa": {"max": 6}}, service="api")
    assert not got["allowed"] and got["replicas"] == 6 and "maxReplicas" in got["reason"]
    with pytest.raises(AnsibleFilterError, match="max_connections is unknown"):
        f.mitigation_pool_check({}, 20, {"replicas": 2})


# ------------------------------------------------------------------------------------------------ revert


def recalled(rec, env_now=None, replicas=2, hpa=None):
    return {"record": rec, "env": env_now or {}, "replicas": replicas, "hpa": hpa, "env_refs": []}


def test_revert_restores_exactly_what_the_latest_run_changed():
    api = record(run="r2", at=T1, changes=[env("META_RATE_LIMIT_BUFFER", None, "0.2")])
    workers = record(service="workers", run="r2", at=T1, changes=[env("CAPI_BATCH_SIZE", "200", "1000")])
    plan = m.revert_plan(
        {
            "api": recalled(api, {"META_RATE_LIMIT_BUFFER": "0.2"}),
            "workers": recalled(workers, {"CAPI_BATCH_SIZE": "1000"}),
        },
        RUNBOOK,
        run="r3",
        at=T2,
        by="bob",
    )
    assert plan["state"] == "revert" and plan["changed"] and plan["run"] == "r2"
    assert plan["services"] == {
        "api": {"env": {"META_RATE_LIMIT_BUFFER": None}},
        "workers": {"env": {"CAPI_BATCH_SIZE": "200"}},
    }
    assert plan["left"] == [] and plan["already"] == []
    assert plan["records"]["api"]["reverted"] == {
        "run": "r3",
        "at": T2,
        "by": "bob",
        "restored": ["META_RATE_LIMIT_BUFFER 0.2 -> absent"],
        "left": [],
    }
    assert "META_RATE_LIMIT_BUFFER 0.2 -> absent" in plan["message"]


def test_only_the_latest_run_is_reverted_and_a_key_changed_since_is_left_alone():
    older = record(run="r1", at=T0, changes=[env("META_RATE_LIMIT_BUFFER", None, "0.2")])
    latest = record(
        service="workers", run="r2", at=T1, changes=[env("CAPI_BATCH_SIZE", "200", "1000"), env("OTHER", None, "1")]
    )
    plan = m.revert_plan(
        {
            "api": recalled(older, {"META_RATE_LIMIT_BUFFER": "0.2"}),
            "workers": recalled(latest, {"CAPI_BATCH_SIZE": "1500", "OTHER": None}),
        },
        RUNBOOK,
        run="r3",
        at=T2,
    )
    assert plan["run"] == "r2" and "api" not in plan["records"]
    assert plan["services"] == {}
    assert not plan["changed"]
    assert [(e["key"], e["now"]) for e in plan["left"]] == [("CAPI_BATCH_SIZE", "1500")]
    assert "changed since (now 1500, this run set 1000): left alone" in plan["left"][0]["why"]
    assert [e["key"] for e in plan["already"]] == ["OTHER"]
    # the record is still marked reverted: a second revert does nothing
    assert plan["records"]["workers"]["reverted"]["left"] == ["CAPI_BATCH_SIZE 1500 -> 200"]


def test_a_second_revert_changes_nothing_and_says_who_reverted():
    done = {"run": "r3", "at": T2, "by": "bob", "restored": ["A 1 -> absent"], "left": []}
    plan = m.revert_plan(
        {"api": recalled(record(run="r2", at=T1, changes=[env("A", None, "1")], reverted=done))}, RUNBOOK
    )
    assert plan["state"] == "already_reverted" and not plan["changed"] and plan["records"] == {}
    assert "already reverted at 2026-05-01T03:20:00+00:00 by bob (restored: A 1 -> absent)" in plan["message"]


def test_nothing_recorded_is_not_a_change():
    plan = m.revert_plan({"api": recalled({}), "workers": recalled(None)}, RUNBOOK)
    assert plan["state"] == "nothing_recorded" and not plan["changed"]
    assert "no mitigation of incident_rate_limit is recorded on api, workers" in plan["message"]


def test_replicas_and_hpa_bounds_revert_and_a_reference_is_left_to_a_person():
    rec = record(
        service="workers",
        changes=[
            {"kind": "replicas", "key": "replicas", "from": 4, "to": 8},
            {"kind": "hpa_max", "key": "maxReplicas", "from": 10, "to": 20},
            {**env("CELERY_QUEUES", None, "high"), "from_ref": "reference"},
        ],
    )
    plan = m.revert_plan(
        {"workers": recalled(rec, {"CELERY_QUEUES": "high"}, replicas=8, hpa={"name": "w", "min": 2, "max": 20})},
        RUNBOOK,
    )
    assert plan["services"] == {"workers": {"scale": {"replicas": 4, "max_replicas": 10}}}
    assert [e["key"] for e in plan["left"]] == ["CELERY_QUEUES"] and "by hand" in plan["left"][0]["why"]


def test_flags_are_read_first_then_removed_only_when_still_the_one_this_run_set():
    flag = {"kind": "flag", "key": "pause:x", "from": None, "to": "true", "expires": "2026-05-01T04:00:00+00:00"}
    rec = record(run="r1", at=T0, changes=[flag])
    first = m.revert_plan({"api": recalled(rec)}, RUNBOOK, now=T1)
    assert first["flags_unread"] == [{"key": "pause:x", "value": "true"}] and not first["changed"]

    ours = {"pause:x": {"existed": True, "value_matches": True, "ttl": 3000}}  # 03:10 + 3000 s = 04:00
    plan = m.revert_plan({"api": recalled(rec)}, RUNBOOK, flags=ours, now=T1)
    assert plan["flags_delete"] == ["pause:x"] and plan["changed"]

    renewed = {"pause:x": {"existed": True, "value_matches": True, "ttl": 3600}}  # someone set a new hour
    plan = m.revert_plan({"api": recalled(rec)}, RUNBOOK, flags=renewed, now=T1)
    assert plan["flags_delete"] == [] and [e["key"] for e in plan["left"]] == ["pause:x"]

    gone = {"pause:x": {"existed": False, "value_matches": None, "ttl": None}}
    plan = m.revert_plan({"api": recalled(rec)}, RUNBOOK, flags=gone, now=T1)
    assert plan["flags_delete"] == [] and "expired" in plan["already"][0]["why"] and not plan["changed"]


def test_filters_wrap_errors_for_ansible():
    with pytest.raises(AnsibleFilterError, match=r"mitigation_encode: .*kubernetes, ecs or compose"):
        f.mitigation_encode(record(), "nomad", RUNBOOK)
    with pytest.raises(AnsibleFilterError, match="action must be env, scale or flag"):
        f.mitigation_changes({}, "restart")
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        f.mitigation_read([], "compose", RUNBOOK)
    assert f.mitigation_changes({"env": {"A": "1"}}, "env", wanted={"A": "2"}, changed_keys=["A"]) == [
        env("A", "1", "2")
    ]
    assert f.mitigation_changes({"replicas": 1}, "scale", replicas=3)[0]["to"] == 3
    assert (
        f.mitigation_changes({}, "flag", key="k", value="true", result={"changed": True, "ttl": None})[0]["to"]
        == "true"
    )
    rec = f.mitigation_record({}, [env("A", None, "1")], RUNBOOK, "api", "r1", at=T0, by="alice", environment="staging")
    assert rec == record(changes=[env("A", None, "1")])
    plan = f.mitigation_revert_plan({"api": recalled(rec, {"A": "1"})}, RUNBOOK, run="r2", at=T1)
    assert plan["services"] == {"api": {"env": {"A": None}}}
