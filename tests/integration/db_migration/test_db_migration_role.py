"""playbooks/db_migration.yml against real PostgreSQL (the test Alembic project) and RDS on moto."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from db_migration_helpers import REPO, alembic_upgrade_heads, role_vars
from harness.ansible_run import assert_clean_failure, run_playbook

PLAYBOOK = REPO / "playbooks" / "db_migration.yml"
FIRST, HEAD = "a1b2c3d4e5f6", "f6e5d4c3b2a1"


def task(run, name):
    """The last result of the role task with this name (role tasks are named '<role> : <name>')."""
    matches = [t for t in run.tasks if t.task == name or t.task.endswith(" : " + name)]
    assert matches, f"task {name!r} did not run; ran: {[t.task for t in run.tasks]}\n{run.output[-3000:]}"
    return matches[-1]


def names(run):
    return [t.task.split(" : ", 1)[-1] for t in run.tasks]


def migrate(moto, extra_vars, check=False, verbosity=0):
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, verbosity=verbosity, env=moto.env)


def report(run):
    return task(run, "DB migration | build the report").result["ansible_facts"]["db_migration_report"]


def alembic_version(connect):
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute("SELECT version_num FROM alembic_version")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def tables(connect):
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def snapshots(rds, instance):
    return rds.describe_db_snapshots(DBInstanceIdentifier=instance, SnapshotType="manual")["DBSnapshots"]


def artifact_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def refused_msg(run) -> str:
    failed = run.failed_tasks()
    assert failed, run.output[-3000:]
    assert failed[0].task.endswith("DB migration | check the plan is the reviewed one"), [t.task for t in failed]
    return str(failed[0]["msg"])


# Merged (each run is paid once): the default plan, check mode, the refusals and the reviewed apply go through one
# database in that order; every step reads alembic_version, the tables, RDS and the artifact directory back.
def test_plan_by_default_then_refusals_then_the_reviewed_plan_applies_after_a_snapshot(
    moto, database, rds, rds_instance, postgres_server, tmp_path
):
    _unused, url, connect = database
    extra = role_vars(url, moto, tmp_path, rds_instance)

    # 1. The default is a plan: SQL and sha256 saved for review on the controller, nothing else changed (-vvv: no URL).
    plan = migrate(moto, extra, verbosity=3)
    assert plan.rc == 0, plan.output[-3000:]
    assert postgres_server.password not in plan.output and url not in plan.output
    assert alembic_version(connect) is None and tables(connect) == []
    assert snapshots(rds, rds_instance) == []
    assert plan.stats["localhost"]["changed"] == 0
    rep = report(plan)
    assert rep["apply"] is False and rep["migrated"] is False and rep["pending"] == [FIRST, HEAD]
    assert rep["sql_artifact"].startswith(str(tmp_path / "artifacts")) and rep["sql_artifact"].endswith(
        "-base-to-" + HEAD + ".sql"
    )
    reviewed = rep["plan_sha256"]
    assert reviewed == artifact_sha256(rep["sql_artifact"])  # what sha256sum of the file says
    text = Path(rep["sql_artifact"]).read_text()
    assert "CREATE TABLE orders" in text and "CREATE TABLE accounts" in text
    assert Path(rep["sql_artifact"] + ".sha256").read_text() == f"{reviewed}  {Path(rep['sql_artifact']).name}\n"
    stats = plan.custom_stats["_run"]
    assert stats["db_migration_plan_sha256"] == reviewed  # for the next node of an AWX workflow
    assert stats["stratum_report"]["findings"]["plan_sha256"] == reviewed
    assert f"-e db_migration_plan_sha256={reviewed}" in stats["stratum_report"]["next_steps"][0]
    assert stats["stratum_report"]["notifications"]["lock"] == "not taken (triage only)"  # a plan takes no lock

    # 2. Check mode of the apply: what would run, the same sha256, nothing written.
    (tmp_path / "artifacts").rename(tmp_path / "reviewed")
    checked = migrate(moto, {**extra, "db_migration_apply": True, "db_migration_plan_sha256": reviewed}, check=True)
    assert checked.rc == 0, checked.output[-3000:]
    assert alembic_version(connect) is None and snapshots(rds, rds_instance) == []
    assert not (tmp_path / "artifacts").exists()
    rep = report(checked)
    assert rep["check_mode"] is True and rep["plan_sha256"] == reviewed and rep["snapshot"]["created"] is False
    assert "CREATE TABLE orders" in task(checked, "DB migration | current and head revisions")["sql"]

    # 3. Production without the reviewed hash: refused, naming the plan's sha256; nothing changed, no snapshot.
    prod = {**extra, "stratum_environment": "production", "db_migration_apply": True}
    refused = migrate(moto, prod)
    assert refused.rc != 0
    msg = refused_msg(refused)
    assert "refusing to migrate production" in msg and "needs the sha256 of the reviewed plan" in msg
    assert reviewed in msg
    assert alembic_version(connect) is None and tables(connect) == [] and snapshots(rds, rds_instance) == []
    assert report(refused)["refused"] and refused.custom_stats["_run"]["stratum_report"]["status"] == "failed"

    # 4. The plan changed since it was reviewed (someone migrated to FIRST meanwhile): refused with both hashes.
    alembic_upgrade_heads(url, FIRST)
    changed_plan = migrate(moto, {**prod, "db_migration_plan_sha256": reviewed})
    assert changed_plan.rc != 0
    msg = refused_msg(changed_plan)
    now = report(changed_plan)["plan_sha256"]
    assert now != reviewed and f"reviewed sha256 {reviewed}" in msg and f"plan now sha256 {now}" in msg
    assert alembic_version(connect) == [FIRST] and "orders" not in tables(connect)
    assert snapshots(rds, rds_instance) == []

    # 5. The reviewed plan of the database as it is now applies in production: snapshot available first, then upgrade.
    run = migrate(moto, {**prod, "db_migration_plan_sha256": now.upper()})
    assert run.rc == 0, run.output[-3000:]
    assert alembic_version(connect) == [HEAD]
    assert {"accounts", "orders", "migration_audit"} <= set(tables(connect))
    rep = report(run)
    assert rep["before"] == [FIRST] and rep["after"] == [HEAD] and rep["heads"] == [HEAD]
    assert rep["at_head"] is True and rep["migrated"] is True and rep["pending"] == [HEAD]
    assert rep["database_ok"] is True and rep["plan_sha256"] == now == artifact_sha256(rep["sql_artifact"])
    assert run.custom_stats["_run"]["db_migration"]["after"] == [HEAD]
    assert "db_migration_plan_sha256" not in run.custom_stats["_run"]
    assert run.custom_stats["_run"]["stratum_report"]["notifications"]["lock"].endswith(", released")
    snaps = snapshots(rds, rds_instance)
    assert len(snaps) == 1
    snap = snaps[0]
    assert snap["Status"] == "available"
    assert snap["DBSnapshotIdentifier"] == rep["snapshot"]["id"]
    assert snap["DBSnapshotIdentifier"].startswith("pre-migration-")
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT max(applied_at) FROM migration_audit")
        migration_at = cur.fetchone()[0]
    conn.close()
    assert snap["SnapshotCreateTime"].astimezone(UTC) < migration_at.astimezone(UTC)
    ran = names(run)
    assert ran.index("DB migration | check the snapshot is available") < ran.index(
        "DB migration | alembic upgrade heads"
    )
    tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=snap["DBSnapshotArn"])["TagList"]}
    assert tags["stratum:to_revision"] == HEAD
    stamp = rep["snapshot"]["id"].removeprefix("pre-migration-")
    assert datetime.strptime(stamp, "%Y%m%d-%H%M%S")

    # 6. A second apply changes nothing and takes no snapshot; the old hash refuses nothing (nothing is pending).
    second = migrate(moto, {**prod, "db_migration_plan_sha256": now})
    assert second.rc == 0, second.output[-3000:]
    assert second.stats["localhost"]["changed"] == 0
    assert len(snapshots(rds, rds_instance)) == 1
    rep = report(second)
    assert rep["pending"] == [] and rep["migrated"] is False and rep["snapshot"] == {} and rep["plan_sha256"] == ""
    assert alembic_version(connect) == [HEAD]


def test_no_migration_when_the_snapshot_fails(moto, database, rds, tmp_path):
    _unused, url, connect = database
    run = migrate(moto, role_vars(url, moto, tmp_path, "no-such-instance", db_migration_apply=True))
    assert run.rc != 0
    assert alembic_version(connect) is None
    assert run.failed_tasks()[0].task.endswith("DB migration | create snapshot of no-such-instance")


# Merged: both downgrade tests began with their own upgrade through the role. One database is upgraded once through
# the role (the no-RDS path, at -vvv: the URL grep's real run without a snapshot), downgraded one revision, put back at
# head with alembic itself (state only; the role's upgrade is proven above), then downgraded to FIRST twice.
def test_upgrade_without_snapshot_then_downgrade_one_revision_then_explicit_downgrade_is_idempotent(
    moto, database, postgres_server, tmp_path
):
    _unused, url, connect = database
    upgraded = migrate(
        moto, role_vars(url, moto, tmp_path, db_migration_target_revision="heads", db_migration_apply=True), verbosity=3
    )
    assert upgraded.rc == 0, upgraded.output[-3000:]
    assert postgres_server.password not in upgraded.output
    assert url not in upgraded.output

    # The downgrade action goes one revision down.
    run = migrate(moto, role_vars(url, moto, tmp_path, db_migration_actions=["downgrade"]))
    assert run.rc == 0, run.output[-3000:]
    assert alembic_version(connect) == [FIRST]
    assert "orders" not in tables(connect)
    rep = report(run)
    assert rep["downgraded"] is True and rep["downgrade_target"] == FIRST and rep["at_head"] is False

    # A downgrade to an explicit revision, from head, is idempotent.
    alembic_upgrade_heads(url)
    assert alembic_version(connect) == [HEAD]
    extra = {"db_migration_actions": ["downgrade"], "db_migration_downgrade_to": FIRST}
    assert migrate(moto, role_vars(url, moto, tmp_path, **extra)).rc == 0
    again = migrate(moto, role_vars(url, moto, tmp_path, **extra))
    assert again.rc == 0, again.output[-3000:]
    assert again.stats["localhost"]["changed"] == 0
    assert alembic_version(connect) == [FIRST]


def test_restore_snapshot_creates_a_new_instance_on_moto(moto, database, rds, rds_instance, tmp_path):
    _unused, url, _unused = database
    rds.create_db_snapshot(DBInstanceIdentifier=rds_instance, DBSnapshotIdentifier="pre-migration-20260101-010101")
    extra = {"db_migration_actions": ["restore_snapshot"]}
    run = migrate(moto, role_vars(url, moto, tmp_path, rds_instance, **extra))
    assert run.rc == 0, run.output[-3000:]
    restored = f"{rds_instance}-restore-20260101-010101"
    assert report(run)["restore"]["instance"] == restored
    instance = rds.describe_db_instances(DBInstanceIdentifier=restored)["DBInstances"][0]
    assert instance["DBSubnetGroup"]["DBSubnetGroupName"] == "stratum-db"
    # The original instance is left alone; a second run finds the copy and changes nothing.
    assert rds.describe_db_instances(DBInstanceIdentifier=rds_instance)["DBInstances"]
    again = migrate(moto, role_vars(url, moto, tmp_path, rds_instance, **extra))
    assert again.rc == 0, again.output[-3000:]
    assert again.stats["localhost"]["changed"] == 0


def test_database_down_fails_with_a_clear_message(moto, tmp_path):
    url = "postgresql+psycopg2://stratum:down-pass-3141@127.0.0.1:1/stratum"
    run = migrate(moto, role_vars(url, moto, tmp_path))
    assert run.rc != 0
    failure = run.failed_tasks()[0]
    assert failure.task.endswith("DB migration | current and head revisions")
    assert_clean_failure(failure, "alembic current failed", "connection refused")
    assert "down-pass-3141" not in run.output


def test_missing_project_directory_fails_before_anything(moto, tmp_path):
    run = migrate(
        moto,
        role_vars(
            "postgresql+psycopg2://x:y@127.0.0.1:1/z", moto, tmp_path, db_migration_project_dir=str(tmp_path / "nope")
        ),
    )
    assert run.rc != 0
    assert_clean_failure(run.failed_tasks()[0], "does not exist")
