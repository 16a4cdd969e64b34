"""`make demo`: start the local sandbox and run the main job, deploy, against it.

    python scripts/demo.py                      # the whole demo (start, deploy, failing deploy, stop)
    python scripts/demo.py start --state F      # start the sandbox only; F gets its details (molecule)
    python scripts/demo.py env --state F        # print the `export` lines for inventories/local
    python scripts/demo.py stop --state F       # stop what `start` started

The sandbox (all throwaway, on free ports, stopped at the end):
- the moto server as AWS: ECS cluster stratum-local with services stratum-api and stratum-workers
  (task definitions with images stratum/api:<v> and stratum/workers:<v>, settings in the environment
  and secrets in Secrets Manager), an RDS instance stratum-local (in a DB subnet group), and ECR
  repositories stratum/api and stratum/workers holding 1.0.0 to 1.5.0 and the failing version;
- a real PostgreSQL (database `stratum`) and a real Redis;
- a stand-in stratum-api (scripts/sandbox_api.py) that reports the version ECS runs and fails
  /health/detailed for the version written to its control file;
- what every runbook reads from inventories/local: the secrets the rotation runbook rotates
  (stratum/local/jwt-secret, stratum/local/pii-encryption-key), the Celery broker (Redis db 1), a log
  directory and its archive bucket, an audit log, and a Slack webhook listener (`demo.py listen`, a tiny
  HTTP server that records every message it receives: the demo prints them).

`start` refuses to start over a state file whose sandbox is still running (stop it first).
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from harness import aws_seed, sandbox, servers

CLUSTER = "stratum-local"
RDS_INSTANCE = "stratum-local"
INITIAL_VERSION = "1.0.0"
DEMO_VERSION = "1.1.0"
FAILING_VERSION = "9.9.9-bad"
REPLICAS = 2
ALEMBIC_PROJECT = REPO / "tests" / "fixtures" / "alembic_project"
LOG_BUCKET = "stratum-local-logs"


# ------------------------------------------------------------------------------------ sandbox
def seed_aws(moto: dict, settings: dict[str, str], secret_values: dict[str, str], version: str) -> dict:
    """ECS cluster + services, Secrets Manager secret, RDS instance in moto; returns what was made."""
    import boto3

    def client(name: str):
        return boto3.client(
            name,
            endpoint_url=moto["endpoint_url"],
            region_name=moto["region"],
            aws_access_key_id=moto["env"]["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=moto["env"]["AWS_SECRET_ACCESS_KEY"],
        )

    secretsmanager = client("secretsmanager")
    secret = secretsmanager.create_secret(Name="stratum/local/app", SecretString=json.dumps(secret_values))
    # The secrets the rotation runbook rotates (roles/secret_rotation: stratum/<environment>/<name>).
    for name, key in (("jwt-secret", "JWT_SECRET_KEY"), ("pii-encryption-key", "PII_ENCRYPTION_KEY")):
        value = secret_values.get(key) or secrets.token_urlsafe(36)
        secretsmanager.create_secret(Name=f"stratum/local/{name}", SecretString=value)
    # Where log cleanup archives (inventories/local: stratum_logs.archive_bucket).
    client("s3").create_bucket(Bucket=LOG_BUCKET)
    ecs = client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    environment = [{"name": k, "value": v} for k, v in sorted(settings.items())]
    secret_refs = [{"name": k, "valueFrom": f"{secret['ARN']}:{k}::"} for k in sorted(secret_values)]
    for service, container, image in (
        ("stratum-api", "api", "stratum/api"),
        ("stratum-workers", "worker", "stratum/workers"),
    ):
        ecs.register_task_definition(
            family=service,
            containerDefinitions=[
                {
                    "name": container,
                    "image": f"{image}:{version}",
                    "memory": 512,
                    "essential": True,
                    "environment": environment,
                    "secrets": secret_refs,
                }
            ],
        )
        ecs.create_service(cluster=CLUSTER, serviceName=service, taskDefinition=f"{service}:1", desiredCount=REPLICAS)
    # deploy refuses a version whose images the registry (inventory: stratum_registry, ECR here) does not have
    images = sorted({*aws_seed.SANDBOX_IMAGE_VERSIONS, FAILING_VERSION, version})
    aws_seed.seed_ecr_images(client("ecr"), ["stratum/api", "stratum/workers"], images)
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{moto['region']}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in ((1, "a"), (2, "b"))
    ]
    rds = client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName="stratum-local", DBSubnetGroupDescription="stratum sandbox", SubnetIds=subnets
    )
    rds.create_db_instance(
        DBInstanceIdentifier=RDS_INSTANCE,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="stratum",
        MasterUserPassword=secrets.token_urlsafe(16),
        DBSubnetGroupName="stratum-local",
    )
    return {"cluster": CLUSTER, "rds_instance": RDS_INSTANCE, "secret_arn": secret["ARN"]}


def start_api(port: int, moto: dict, control: Path, database_url: str, redis_url: str, workdir: Path) -> dict:
    """The stand-in stratum-api, reading the running version from the ECS service in moto."""
    log = workdir / "sandbox_api.log"
    env = dict(os.environ, **moto["env"])
    env.pop("STRATUM_SANDBOX_FAIL_VERSION", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "scripts" / "sandbox_api.py"),
            "--port",
            str(port),
            "--ecs-cluster",
            CLUSTER,
            "--ecs-service",
            "stratum-api",
            "--ecs-container",
            "api",
            "--control",
            str(control),
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            # its JSON log lines also go to CloudWatch Logs, where the ECS platform's `logs` reads them
            "--cloudwatch-log-group",
            "/ecs/stratum-api",
        ],
        start_new_session=True,
        stdout=open(log, "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        env=env,
    )

    def healthy() -> bool:
        if proc.poll() is not None:
            raise servers.ServerStartError(f"sandbox API exited: {log.read_text(errors='replace')[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status == 200

    servers.wait_for(healthy, 30, f"sandbox API on port {port}", log)
    return {"kind": "api", "pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}", "workdir": ""}


# ------------------------------------------------------------------------------ Slack stand-in
class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    """Records every POST (a Slack incoming-webhook message) as one JSON line; answers 200 "ok" like Slack."""

    record: Path

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        try:
            message: Any = json.loads(body)
        except ValueError:
            message = body
        with open(self.record, "a") as fh:
            fh.write(json.dumps({"path": self.path, "message": message}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:  # the record file is the log
        pass


def listen(port: int, record: Path) -> None:
    """`demo.py listen`: the demo's Slack webhook listener (runs until stopped)."""
    handler = type("Handler", (_WebhookHandler,), {"record": record})
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


def start_webhook(workdir: Path) -> dict:
    """Start the listener in its own process (it outlives `start`); its URL looks like Slack's."""
    port = servers.free_port()
    record = workdir / "slack-messages.jsonl"
    record.touch()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "listen", "--port", str(port), "--record", str(record)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers.wait_for(lambda: servers.port_open(port), 15, f"webhook listener on port {port}")
    url = f"http://127.0.0.1:{port}/services/DEMO/LOCAL/webhook"
    return {"kind": "webhook", "pid": proc.pid, "port": port, "url": url, "record": str(record), "workdir": ""}


def slack_messages(state: dict) -> list[Any]:
    """What the webhook listener received so far."""
    record = next((c["record"] for c in state.get("components", []) if c.get("kind") == "webhook"), None)
    if not record or not Path(record).exists():
        return []
    return [json.loads(line)["message"] for line in Path(record).read_text().splitlines() if line.strip()]


def running_components(state: dict) -> list[dict]:
    """Components of a state file whose process still runs."""
    alive = []
    for component in state.get("components", []):
        with contextlib.suppress(ProcessLookupError, PermissionError, TypeError):
            if component.get("pid"):
                os.killpg(int(component["pid"]), 0)
                alive.append(component)
    return alive


def start(state_path: Path, version: str = INITIAL_VERSION) -> dict:
    """Start everything, write the state file, return the state (the processes outlive this call)."""
    if state_path.exists():
        previous = json.loads(state_path.read_text() or "{}")
        alive = running_components(previous)
        if alive:
            # Starting over it would orphan those processes: nobody could stop them any more.
            kinds = ", ".join(f"{c.get('kind')} (pid {c['pid']})" for c in alive)
            raise SystemExit(
                f"{state_path}: its sandbox is still running ({kinds}); "
                f"stop it first: python scripts/demo.py stop --state {state_path}"
            )
        stop_state(previous)  # leftovers of a sandbox that died: its temp dirs
    # moto reports this many running tasks for every ECS service, so rollouts complete.
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(REPLICAS)
    state: dict[str, Any] = {"components": []}
    state_path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="stratum-demo-"))
    state["workdir"] = str(workdir)
    try:
        for kind in ("moto", "postgres", "redis"):
            state["components"].append(sandbox.start(kind))
            state_path.write_text(json.dumps(state, indent=2))
        moto, pg, redis = state["components"]
        import psycopg2

        conn = psycopg2.connect(pg["url"])
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE stratum")
        conn.close()
        database_url = pg["url"].rsplit("/", 1)[0] + "/stratum"
        # SQLAlchemy (alembic) picks the driver from the URL; psycopg2 is the one installed
        sqlalchemy_url = database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        redis_url = redis["url"]
        secret_values = {
            "SECRET_KEY": secrets.token_urlsafe(36),
            "JWT_SECRET_KEY": secrets.token_urlsafe(36),
            "PII_ENCRYPTION_KEY": secrets.token_urlsafe(36),
            "DATABASE_URL": database_url,
        }
        settings = {
            "ENVIRONMENT": "local",
            "REDIS_URL": redis_url,
            "CORS_ORIGINS": "http://localhost:5173",
            "SENTRY_DSN": "https://public@sentry.invalid/1",
            "EMBED_WIDGETS_ENABLED": "false",
            "WHATSAPP_ENABLED": "false",
        }
        state["aws"] = seed_aws(moto, settings, secret_values, version)
        control = workdir / "control.json"
        control.write_text(json.dumps({"fail_version": ""}))
        api = start_api(servers.free_port(), moto, control, database_url, redis_url, workdir)
        state["components"].append(api)
        # A real Prometheus scraping the API's runbook metrics every second (error-rate and rate-limit triage).
        from harness import prometheus as prometheus_harness

        state["components"].append(prometheus_harness.start_detached([f"127.0.0.1:{api['port']}"]))
        state["control"] = str(control)
        webhook = start_webhook(workdir)
        state["components"].append(webhook)
        log_dir = workdir / "logs"
        log_dir.mkdir()
        (log_dir / "api.log").write_text('{"level": "INFO", "msg": "sandbox started"}\n')
        # inventories/local: stratum_prometheus_url (the error-rate and rate-limit triage)
        prometheus = next((c for c in state["components"] if c.get("kind") == "prometheus"), None)
        state["env"] = {
            **moto["env"],
            "STRATUM_LOCAL_AWS_ENDPOINT": moto["endpoint_url"],
            "STRATUM_LOCAL_AWS_REGION": moto["region"],
            "STRATUM_LOCAL_API_URL": api["url"],
            "STRATUM_LOCAL_PGHOST": pg["host"],
            "STRATUM_LOCAL_PGPORT": str(pg["port"]),
            "STRATUM_LOCAL_PGDATABASE": "stratum",
            "STRATUM_LOCAL_PGUSER": pg["user"],
            "STRATUM_LOCAL_REDIS_URL": redis_url,
            "STRATUM_LOCAL_ALEMBIC_DIR": str(ALEMBIC_PROJECT),
            # Celery's broker is database 1 of the sandbox Redis (inventories/local: stratum_celery.broker_url)
            "STRATUM_LOCAL_BROKER_URL": redis_url.rsplit("/", 1)[0] + "/1",
            "STRATUM_LOCAL_LOG_DIR": str(log_dir),
            "STRATUM_LOCAL_AUDIT_LOG": str(workdir / "audit.jsonl"),
            "STRATUM_SLACK_WEBHOOK_URL": webhook["url"],
            **({"STRATUM_LOCAL_PROMETHEUS_URL": prometheus["url"]} if prometheus else {}),
            "STRATUM_SANDBOX_CONTROL": str(control),
            # secrets travel in the environment, never in the inventory
            "DATABASE_URL": sqlalchemy_url,
            "PGPASSWORD": pg["password"],
        }
        state["versions"] = {"initial": version}
        state_path.write_text(json.dumps(state, indent=2))
    except BaseException:
        stop_state(state)
        state_path.unlink(missing_ok=True)
        raise
    return state


def stop_state(state: dict) -> None:
    """Stop every component (the API first, then the servers) and remove the temp dirs."""
    for component in reversed(state.get("components", [])):
        with contextlib.suppress(Exception):
            sandbox.stop(component)
    if state.get("workdir"):
        import shutil

        shutil.rmtree(state["workdir"], ignore_errors=True)


def stop(state_path: Path) -> None:
    if state_path.exists():
        stop_state(json.loads(state_path.read_text()))
        state_path.unlink()


def set_fail_version(state: dict, version: str) -> None:
    """Tell the stand-in API which version fails its health checks ('' for none)."""
    Path(state["control"]).write_text(json.dumps({"fail_version": version}))


# ----------------------------------------------------------------------------------- the demo
def ecs_versions(state: dict) -> dict[str, str]:
    """The image tag each ECS service runs, read from moto."""
    import boto3

    env = state["env"]
    ecs = boto3.client(
        "ecs",
        endpoint_url=env["STRATUM_LOCAL_AWS_ENDPOINT"],
        region_name=env["STRATUM_LOCAL_AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    found = {}
    for name in ("stratum-api", "stratum-workers"):
        service = ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        image = definition["containerDefinitions"][0]["image"]
        found[name] = image.rsplit(":", 1)[-1]
    return found


def run_deploy(state: dict, version: str, log: Path) -> tuple[int, dict]:
    """ansible-playbook -i inventories/local playbooks/deploy.yml -e version=...; (rc, deploy_report)."""
    from harness.ansible_run import run_playbook

    run = run_playbook(
        REPO / "playbooks" / "deploy.yml",
        inventory=REPO / "inventories" / "local",
        extra_vars={"version": version},
        env=state["env"],
    )
    log.write_text(run.output)
    stats = run.custom_stats.get("_run") or run.custom_stats.get("localhost") or run.custom_stats
    if stats.get("stratum_report"):
        # the shared run report (every runbook, also on failure): where it looked and how it ended
        print("\n".join(describe_run_report(stats["stratum_report"])))
    return run.rc, stats.get("deploy", {})


def describe_run_report(report: dict) -> list[str]:
    """The shared stratum_report: status and the endpoints it used (never a password)."""
    lines = [f"   report: {report.get('runbook')} in {report.get('environment')}: {report.get('status')}"]
    lines += [f"     endpoint {name}: {where}" for name, where in sorted((report.get("endpoints") or {}).items())]
    return lines


def print_slack_messages(state: dict) -> None:
    """What the demo's webhook listener received: the announcements a team channel would show."""
    messages = slack_messages(state)
    print(f"\n3) Slack messages the demo's webhook listener received ({len(messages)}):")
    for message in messages:
        text = message.get("text") if isinstance(message, dict) else message
        channel = message.get("channel", "") if isinstance(message, dict) else ""
        print(f"   {channel} {text}".rstrip())
    if not messages:
        print("   (none: the runbooks did not announce anything)")


def describe(report: dict) -> list[str]:
    """A few readable lines from a deploy_report."""
    lines = [f"     - {step}" for step in report.get("steps", [])]
    failure = report.get("failure") or {}
    if failure:
        lines.append(f"     ! failed at {failure.get('step')}: {failure.get('msg')}")
    return lines


def demo() -> int:
    started = time.monotonic()
    state_path = Path(tempfile.mkdtemp(prefix="stratum-demo-state-")) / "sandbox.json"
    logs = Path(tempfile.mkdtemp(prefix="stratum-demo-logs-"))
    ok = True
    print("stratum.ops demo: starting the local sandbox (moto as AWS, PostgreSQL, Redis, stand-in API)...")
    try:
        state = start(state_path)
        env = state["env"]
        print(
            f"  sandbox up: ECS cluster {CLUSTER} (stratum-api, stratum-workers at {INITIAL_VERSION}), "
            f"RDS {RDS_INSTANCE}, PostgreSQL :{env['STRATUM_LOCAL_PGPORT']}, Redis {env['STRATUM_LOCAL_REDIS_URL']}, "
            f"API {env['STRATUM_LOCAL_API_URL']}"
        )

        print(f"\n1) ansible-playbook -i inventories/local playbooks/deploy.yml -e version={DEMO_VERSION}")
        rc, report = run_deploy(state, DEMO_VERSION, logs / "deploy-good.log")
        versions = ecs_versions(state)
        good = rc == 0 and versions == {"stratum-api": DEMO_VERSION, "stratum-workers": DEMO_VERSION}
        print("\n".join(describe(report)))
        print(
            f"   => {'OK' if good else 'UNEXPECTED'}: play rc={rc}; ECS now runs api {versions['stratum-api']}, "
            f"workers {versions['stratum-workers']} (log: {logs / 'deploy-good.log'})"
        )
        ok &= good

        print(
            f"\n2) the stand-in API is told to fail {FAILING_VERSION}; "
            f"ansible-playbook ... deploy.yml -e version={FAILING_VERSION}"
        )
        set_fail_version(state, FAILING_VERSION)
        rc, report = run_deploy(state, FAILING_VERSION, logs / "deploy-bad.log")
        versions = ecs_versions(state)
        rolled_back = (
            rc != 0
            and versions == {"stratum-api": DEMO_VERSION, "stratum-workers": DEMO_VERSION}
            and report.get("outcome") == "rolled_back"
        )
        print("\n".join(describe(report)))
        print(
            f"   => {'OK (the play failed, as expected)' if rolled_back else 'UNEXPECTED'}: play rc={rc}; "
            f"ECS runs api {versions['stratum-api']}, workers {versions['stratum-workers']} again "
            f"(log: {logs / 'deploy-bad.log'})"
        )
        ok &= rolled_back
        print_slack_messages(state)
    except KeyboardInterrupt:
        print("\ninterrupted")
        ok = False
    except Exception as exc:
        print(f"\ndemo failed: {exc}")
        ok = False
    finally:
        print("\nstopping the sandbox...")
        # a second Ctrl-C must not leave servers behind
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            stop(state_path)
        finally:
            signal.signal(signal.SIGINT, previous)
    verdict = "both outcomes as expected" if ok else "something unexpected happened (see the logs)"
    print(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s: {verdict}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="demo", choices=["demo", "start", "stop", "env", "listen"])
    parser.add_argument("--state", help="state file (start writes it, stop and env read it)")
    parser.add_argument("--version", default=INITIAL_VERSION, help="version the services start with (start)")
    parser.add_argument("--port", type=int, help="listen: port of the webhook listener")
    parser.add_argument("--record", help="listen: file the received messages are appended to")
    args = parser.parse_args()
    if args.command == "demo":
        sys.exit(demo())
    if args.command == "listen":
        listen(args.port, Path(args.record))
        return
    if not args.state:
        parser.error(f"{args.command} needs --state")
    state_path = Path(args.state)
    if args.command == "start":
        state = start(state_path, args.version)
        print(json.dumps({"state": str(state_path), "api_url": state["env"]["STRATUM_LOCAL_API_URL"]}))
    elif args.command == "stop":
        stop(state_path)
    else:
        env = json.loads(state_path.read_text())["env"]
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())))


if __name__ == "__main__":
    main()
