"""Fixtures for the db_migration tests: a database per test on the module's PostgreSQL, an RDS instance on moto."""

from __future__ import annotations

import itertools

import pytest

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
