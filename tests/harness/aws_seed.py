"""Seed the moto server with the AWS resources a scenario needs (molecule create.yml, demos).

    python tests/harness/aws_seed.py --state moto.json ecs-service --cluster c --service stratum-api \
        --container api --image stratum/api --tags 1.4.1,1.4.2 --desired 2
    python tests/harness/aws_seed.py --state moto.json rds-instance --id stratum-db --class db.t3.micro
    python tests/harness/aws_seed.py --state moto.json secret --name stratum/x/jwt-secret --value ...

--state is the file `sandbox.py start moto` wrote (endpoint and region).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import boto3


def client(state: dict, service: str):
    return boto3.client(
        service,
        endpoint_url=state["endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )


def seed_ecs_service(state: dict, args: argparse.Namespace) -> None:
    """A cluster and a service on the last of --tags; every tag is one task definition revision."""
    ecs = client(state, "ecs")
    ecs.create_cluster(clusterName=args.cluster)
    revision = 0
    for tag in args.tags.split(","):
        td = ecs.register_task_definition(
            family=args.service,
            containerDefinitions=[{"name": args.container, "image": f"{args.image}:{tag}", "memory": 128}],
        )["taskDefinition"]
        revision = td["revision"]
    # moto keeps a service created with desiredCount > 0 from ever running; create it empty, then scale.
    ecs.create_service(
        cluster=args.cluster, serviceName=args.service, taskDefinition=f"{args.service}:{revision}", desiredCount=0
    )
    if args.desired:
        ecs.update_service(cluster=args.cluster, service=args.service, desiredCount=args.desired)


def seed_rds_instance(state: dict, args: argparse.Namespace) -> None:
    """A PostgreSQL RDS instance (moto needs a DB subnet group, which needs a VPC and subnets)."""
    ec2 = client(state, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{state['region']}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    rds = client(state, "rds")
    group = f"{args.id}-subnets"
    rds.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="seed", SubnetIds=subnets)
    rds.create_db_instance(
        DBInstanceIdentifier=args.id,
        DBInstanceClass=args.instance_class,
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="stratum",
        MasterUserPassword="seed-password-not-secret",
        DBSubnetGroupName=group,
    )


# The versions the sandbox's ECR holds, so deploy's "the registry has the image" check passes for them.
SANDBOX_IMAGE_VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0")


def seed_ecr_images(ecr, repositories: list[str], tags: list[str]) -> dict[str, str]:
    """ECR repositories with one tiny manifest per tag (moto's put_image); returns reference -> digest."""
    digests = {}
    for repository in repositories:
        ecr.create_repository(repositoryName=repository)
        for tag in tags:
            config = {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(tag), "digest": ""}
            config["digest"] = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": config,
                "layers": [],
            }
            image = ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)["image"]
            digests[f"{repository}:{tag}"] = image["imageId"]["imageDigest"]
    return digests


def seed_secret(state: dict, args: argparse.Namespace) -> None:
    client(state, "secretsmanager").create_secret(Name=args.name, SecretString=args.value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True, help="moto state file written by sandbox.py start moto")
    sub = parser.add_subparsers(dest="what", required=True)
    ecs = sub.add_parser("ecs-service")
    ecs.add_argument("--cluster", required=True)
    ecs.add_argument("--service", required=True)
    ecs.add_argument("--container", required=True)
    ecs.add_argument("--image", required=True)
    ecs.add_argument("--tags", required=True, help="comma-separated image tags, one revision each")
    ecs.add_argument("--desired", type=int, default=2)
    rds = sub.add_parser("rds-instance")
    rds.add_argument("--id", required=True)
    rds.add_argument("--class", dest="instance_class", default="db.t3.micro")
    secret = sub.add_parser("secret")
    secret.add_argument("--name", required=True)
    secret.add_argument("--value", required=True)
    args = parser.parse_args()
    state = json.loads(Path(args.state).read_text())
    {"ecs-service": seed_ecs_service, "rds-instance": seed_rds_instance, "secret": seed_secret}[args.what](state, args)


if __name__ == "__main__":
    main()
