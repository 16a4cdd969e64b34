"""Fixtures for the db_migration tests: a database per test on the module's PostgreSQL, an RDS instance on moto."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ALEMBIC_PROJECT = REPO / "tests" / "fixtures" / "alembic_project"
ALEMBIC = Path(sys.executable).parent / "alembic"
_counter = itertools.count()


@pytest.fixture(scope="module")
def rds(moto):
    """moto with a VPC, two subnets and a DB subnet group (moto's rds_instance comparisons need one)."""
    ec2 = moto.client("ec2")
    client = moto.client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    client.create_db_subnet_group(
        DBSubnetGroupName="stratum-db", DBSubnetGroupDescription="stratum test", SubnetIds=subnets
    )
    return client


@pytest.fixture
def rds_instance(rds):
    """A fresh RDS instance identifier (created on moto) for one test."""
    name = f"stratum-test-{next(_counter)}"
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="stratum",
        MasterUserPassword="rds-master-pass-77",
        AllocatedStorage=20,
        DBSubnetGroupName="stratum-db",
    )
    return name


@pytest.fixture
def database(postgres_server, request):
    """A fresh, empty database on the module's PostgreSQL: (name, SQLAlchemy URL, connect())."""
    name = "mig_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:40]
    conn = postgres_server.connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = (
        f"postgresql+psycopg2://{postgres_server.user}:{postgres_server.password}"
        f"@{postgres_server.host}:{postgres_server.port}/{name}"
    )
    return name, url, lambda: postgres_server.connect(dbname=name)


def role_vars(url: str, moto, tmp_path: Path, instance: str | None = None, **extra) -> dict:
    """Role variables for one run against the test project, PostgreSQL and moto."""
    return {
        "db_migration_project_dir": str(ALEMBIC_PROJECT),
        "db_migration_alembic_executable": str(ALEMBIC),
        "db_migration_database_url": url,
        "db_migration_artifact_dir": str(tmp_path / "artifacts"),
        "db_migration_rds_instance": instance or "",
        "db_migration_snapshot": instance is not None,
        "db_migration_aws": {"endpoint_url": moto.endpoint_url, "region": moto.region},
        "stratum_environment": "test",
        **extra,
    }
