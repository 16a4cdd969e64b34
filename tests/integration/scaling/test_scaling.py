"""scaling role through ansible-playbook: ECS services and an RDS instance on the moto server."""

from __future__ import annotations

import pytest
from harness.ansible_run import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "scaling.yml"
CLUSTER = "stratum-scaling"
DB = "stratum-scaling-db"


@pytest.fixture
def aws(moto):
    """Empty moto, then an ECS cluster with api and workers services and a small RDS instance."""
    moto.reset()
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    for name, container in (("stratum-api", "api"), ("stratum-workers", "worker")):
        td = ecs.register_task_definition(
            family=name,
            containerDefinitions=[{"name": container, "image": f"stratum/{container}:1.4.1", "memory": 128}],
        )["taskDefinition"]
        # moto keeps a service created with desiredCount > 0 from ever running; scale it up afterwards.
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=f"{name}:{td['revision']}", desiredCount=0)
        ecs.update_service(cluster=CLUSTER, service=name, desiredCount=2)
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{moto.region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    rds = moto.client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName="stratum", DBSubnetGroupDescription="test", SubnetIds=subnets)
    rds.create_db_instance(
        DBInstanceIdentifier=DB,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="stratum",
        MasterUserPassword="not-a-real-password-1",
        DBSubnetGroupName="stratum",
    )
    return moto


def play(moto, check: bool = False, **extra):
    extra_vars = {
        "stratum_platform": "ecs",
        "stratum_services": {
            "api": {"ecs": {"cluster": CLUSTER, "service": "stratum-api", "container": "api"}, "image": "stratum/api"},
            "workers": {
                "ecs": {"cluster": CLUSTER, "service": "stratum-workers", "container": "worker"},
                "image": "stratum/workers",
            },
        },
        "stratum_aws": {"region": moto.region, "endpoint_url": moto.endpoint_url},
        "stratum_database": {"rds_instance": DB},
        "scaling_services": ["api", "workers"],
        "platform_poll_interval": 1,
        "platform_wait_timeout": 60,
        **extra,
    }
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, env=moto.env)


def desired(moto, service: str) -> int:
    return moto.client("ecs").describe_services(cluster=CLUSTER, services=[service])["services"][0]["desiredCount"]


def db_class(moto) -> str:
    return moto.client("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["DBInstanceClass"]


def snapshots(moto) -> list[str]:
    # moto also keeps an automated "rds:" snapshot per instance; only manual ones are ours.
    found = moto.client("rds").describe_db_snapshots(DBInstanceIdentifier=DB, SnapshotType="manual")["DBSnapshots"]
    return [s["DBSnapshotIdentifier"] for s in found]


def test_triage_reports_capacity_and_changes_nothing(aws):
    run = play(aws)
    assert run.rc == 0, run.output[-3000:]
    report = run.custom_stats["_run"]["scaling_report"]
    assert report["services"]["api"]["desired"] == 2
    assert report["services"]["workers"]["version"] == "1.4.1"
    assert report["database"] == {"instance": DB, "class": "db.t3.micro", "status": "available"}
    assert desired(aws, "stratum-api") == 2
    assert "Triage only" in run.stdout


def test_scale_service_then_second_run_changes_nothing(aws):
    run = play(aws, scaling_actions=["scale_service"], scaling_service="workers", scaling_replicas=4)
    assert run.rc == 0, run.output[-3000:]
    assert desired(aws, "stratum-workers") == 4
    assert desired(aws, "stratum-api") == 2
    assert run.custom_stats["_run"]["scaling_report"]["scaled_service"]["desired"] == 4
    again = play(aws, scaling_actions=["scale_service"], scaling_service="workers", scaling_replicas=4)
    assert again.rc == 0, again.output[-3000:]
    assert [t.task for t in again.tasks if t.changed] == []


def test_check_mode_scales_and_resizes_nothing(aws):
    run = play(
        aws,
        check=True,
        scaling_actions=["scale_service", "scale_database"],
        scaling_replicas=6,
        scaling_db_instance_class="db.r6g.large",
    )
    assert run.rc == 0, run.output[-3000:]
    assert desired(aws, "stratum-api") == 2
    assert db_class(aws) == "db.t3.micro"
    assert snapshots(aws) == []


def test_scale_database_takes_a_snapshot_first_and_is_idempotent(aws):
    run = play(aws, scaling_actions=["scale_database"], scaling_db_instance_class="db.r6g.large")
    assert run.rc == 0, run.output[-3000:]
    assert db_class(aws) == "db.r6g.large"
    taken = snapshots(aws)
    assert len(taken) == 1 and taken[0].startswith(f"pre-scale-{DB}-")
    names = [t.task for t in run.tasks]
    snap = next(i for i, n in enumerate(names) if n.endswith("snapshot before the resize"))
    resize = next(i for i, n in enumerate(names) if "move the instance to" in n)
    assert snap < resize
    again = play(aws, scaling_actions=["scale_database"], scaling_db_instance_class="db.r6g.large")
    assert again.rc == 0, again.output[-3000:]
    assert snapshots(aws) == taken
    assert [t.task for t in again.tasks if t.changed] == []


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"scaling_actions": ["scale_database"]}, "scale_database needs"),
        ({"scaling_actions": ["scale_service"]}, "scale_service needs"),
        ({"scaling_db_instance": "no-such-db"}, "RDS instance no-such-db not found"),
    ],
)
def test_bad_input_fails_clearly_before_any_change(aws, extra, fragment):
    run = play(aws, **extra)
    assert run.rc != 0
    assert fragment in run.failed_tasks()[0]["msg"]
    assert desired(aws, "stratum-api") == 2
    assert db_class(aws) == "db.t3.micro"
