"""playbooks/db_migration.yml against real PostgreSQL (the test Alembic project) and RDS on moto."""

from __future__ import annotations

from datetime import UTC, datetime

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


# Merged: six tests each paid for their own migration (two more runs for the -vvv grep alone); one database goes
# through check mode, the migration and the idempotent second run, in that order, with every assertion of the six.
def test_check_mode_then_migration_after_an_available_snapshot_then_second_run_unchanged_url_never_in_vvv(
    moto, database, rds, rds_instance, postgres_server, tmp_path
):
    _unused, url, connect = database
    extra = role_vars(url, moto, tmp_path, rds_instance)

    # Check mode changes nothing read back from PostgreSQL, RDS or the artifact directory; -vvv shows no URL.
    planned = migrate(moto, extra, check=True, verbosity=3)
    assert planned.rc == 0, planned.output[-3000:]
    assert postgres_server.password not in planned.output
    assert url not in planned.output
    assert alembic_version(connect) is None
    assert tables(connect) == []
    assert snapshots(rds, rds_instance) == []
    assert not (tmp_path / "artifacts").exists()
    rep = report(planned)
    assert rep["check_mode"] is True
    assert rep["pending"] == [FIRST, HEAD]
    assert rep["snapshot"]["created"] is False
    # The SQL preview is still generated (offline) and shown by the status task.
    status = task(planned, "DB migration | current and head revisions")
    assert "CREATE TABLE orders" in status["sql"]

    # The migration applies and verifies on PostgreSQL; -vvv shows no URL.
    run = migrate(moto, extra, verbosity=3)
    assert run.rc == 0, run.output[-3000:]
    assert postgres_server.password not in run.output
    assert url not in run.output
    assert alembic_version(connect) == [HEAD]
    assert {"accounts", "orders", "migration_audit"} <= set(tables(connect))
    rep = report(run)
    assert rep["before"] == [] and rep["after"] == [HEAD] and rep["heads"] == [HEAD]
    assert rep["at_head"] is True and rep["migrated"] is True
    assert rep["pending"] == [FIRST, HEAD]
    assert rep["database_ok"] is True
    assert run.custom_stats["_run"]["db_migration"]["after"] == [HEAD]
    # The SQL saved for review is the SQL of exactly these two migrations.
    sql = (tmp_path / "artifacts").glob("migration-*-base-to-" + HEAD + ".sql")
    text = next(sql).read_text()
    assert "CREATE TABLE orders" in text and "CREATE TABLE accounts" in text

    # The snapshot exists and was available before the migration ran.
    snaps = snapshots(rds, rds_instance)
    assert len(snaps) == 1
    snap = snaps[0]
    assert snap["Status"] == "available"
    assert snap["DBSnapshotIdentifier"] == report(run)["snapshot"]["id"]
    assert snap["DBSnapshotIdentifier"].startswith("pre-migration-")
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT min(applied_at) FROM migration_audit")
        first_migration_at = cur.fetchone()[0]
    conn.close()
    assert snap["SnapshotCreateTime"].astimezone(UTC) < first_migration_at.astimezone(UTC)
    # Order of the tasks as they ran: the snapshot was read back available before alembic upgrade ran.
    ran = names(run)
    assert ran.index("DB migration | check the snapshot is available") < ran.index(
        "DB migration | alembic upgrade heads"
    )
    tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=snap["DBSnapshotArn"])["TagList"]}
    assert tags["stratum:to_revision"] == HEAD
    # The snapshot identifier has a time of day.
    stamp = report(run)["snapshot"]["id"].removeprefix("pre-migration-")
    assert datetime.strptime(stamp, "%Y%m%d-%H%M%S")

    # A second run changes nothing and takes no snapshot.
    second = migrate(moto, extra)
    assert second.rc == 0, second.output[-3000:]
    assert second.stats["localhost"]["changed"] == 0
    assert len(snapshots(rds, rds_instance)) == 1
    rep = report(second)
    assert rep["pending"] == [] and rep["migrated"] is False and rep["snapshot"] == {}
    assert alembic_version(connect) == [HEAD]


def test_no_migration_when_the_snapshot_fails(moto, database, rds, tmp_path):
    _unused, url, connect = database
    run = migrate(moto, role_vars(url, moto, tmp_path, "no-such-instance"))
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
    upgraded = migrate(moto, role_vars(url, moto, tmp_path, db_migration_target_revision="heads"), verbosity=3)
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
