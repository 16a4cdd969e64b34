"""ECS rollback: the runbook's `sed 's/:.*/:/'` on the current ARN against stratum.ops's previous-revision
choice, on task definition families of growing size (every third older revision deregistered).

Against a throwaway moto server. For each family size prints what each way would roll back to, how
many ECS API calls the choice took and how long (median of --repeat), and one full stratum.ops.ecs_rollback
run through ansible-playbook (choice + UpdateService + stability wait).

    .venv/bin/python bench/ecs_rollback.py [--sizes 10 100 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_collections.stratum.ops.plugins.module_utils.ecs import (
    describe_service,
    resolve_rollback_target,
)
from harness import servers
from harness.ansible_run import run_module


class CountingClient:
    """A boto3 client that drops amazon.aws's aws_retry keyword and counts calls."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(*args, aws_retry=False, **kwargs):
            self.calls += 1
            return method(*args, **kwargs)

        return call


def runbook_previous(current_arn: str) -> str:
    """What `echo $CURRENT | sed 's/:.*/:/'` yields (the runbook's "previous task definition")."""
    return current_arn.split(":", 1)[0] + ":"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    rows = []
    with servers.moto_server() as moto:
        ecs = moto.client("ecs")
        for size in opts.sizes:
            cluster, family, service = f"bench-{size}", f"api-{size}", f"svc-{size}"
            ecs.create_cluster(clusterName=cluster)
            for i in range(size):
                ecs.register_task_definition(
                    family=family, containerDefinitions=[{"name": "api", "image": f"stratum/api:1.{i}", "memory": 128}]
                )
            for revision in range(size - 1, 0, -3):  # deregister every third older revision, starting just below
                ecs.deregister_task_definition(taskDefinition=f"{family}:{revision}")
            ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=f"{family}:{size}", desiredCount=0)
            ecs.update_service(cluster=cluster, service=service, desiredCount=2)

            counting = CountingClient(ecs)
            timings, target = [], None
            for _attempt in range(opts.repeat):
                counting.calls = 0
                start = time.perf_counter()
                svc = describe_service(counting, cluster, service)
                target = resolve_rollback_target(counting, svc, None)
                timings.append(time.perf_counter() - start)
            calls = counting.calls
            current_arn = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]

            start = time.perf_counter()
            result, _run = run_module(
                "stratum.ops.ecs_rollback",
                {"cluster": cluster, "service": service, "poll_interval": 1, **moto.module_args()},
                env=moto.env,
            )
            full = time.perf_counter() - start
            assert not result.failed, result.result
            rows.append(
                (
                    size,
                    runbook_previous(current_arn.split("/")[-1]),
                    target.task_definition,
                    calls,
                    statistics.median(timings) * 1000,
                    result["to_task_definition"],
                    full,
                )
            )

    header = ("revisions", "runbook sed gives", "stratum.ops picks", "API calls", "choice ms", "rolled to", "run s")
    print(" | ".join(header))
    print(" | ".join("---" for _column in header))
    for size, sed, pick, calls, ms, to, full in rows:
        print(f"{size} | {sed} | {pick} | {calls} | {ms:.1f} | {to} | {full:.1f}")


if __name__ == "__main__":
    main()
