# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECS algorithms shared by stratum.ops modules and filters: which revision is "previous",
when a service counts as stable, and how to wait for it.

Everything here takes a boto3-style ECS/ELBv2 client (calls are made with ``aws_retry=True`` so an
amazon.aws retrying client retries throttling) and plain dicts, so unit tests can pass fakes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.stratum.ops.plugins.module_utils.validation import (
    InvalidOption,
    check_http_url,
    check_number,
    check_text,
)

# ECS says "ThrottlingException"; amazon.aws's AWSRetry only knows "Throttling" by default.
RETRY_EXTRA_CODES = ["ThrottlingException", "ServerException"]
# Upper bounds for one AWS HTTP call; a hung endpoint then costs one such call, not botocore's 60 s x retries.
MAX_CONNECT_TIMEOUT = 10.0
MAX_READ_TIMEOUT = 30.0
MAX_WAIT_TIMEOUT = 86400


class EcsError(Exception):
    """An expected failure with a message an on-call engineer can act on."""


class ServiceNotStable(EcsError):
    """The service did not become stable (timeout or a failed rollout)."""

    def __init__(self, msg: str, service: dict[str, Any] | None = None, state: StabilityState | None = None):
        super().__init__(msg)
        self.service = service or {}
        self.state = state


def ecs_wait_argument_spec() -> dict[str, Any]:
    """cluster, service and the stability-wait options (doc_fragments/ecs.py); AnsibleAWSModule adds the connection."""
    return dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="int", default=10),
        wait_for_targets=dict(type="bool", default=True),
    )


def aws_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of AnsibleAWSModule's connection options every stratum.ops AWS module takes."""
    checks: list[tuple[Any, ...]] = [(check_http_url, "endpoint_url", params.get("endpoint_url"))]
    region = params.get("region")
    if region is not None:
        checks.append((check_region, "region", region))
    return checks


def check_region(option: str, value: Any) -> Any:
    """An AWS region name such as eu-west-1 (letters, digits and '-')."""
    check_text(option, value)
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
        raise InvalidOption(option, f"must be an AWS region name like eu-west-1, got {value!r}")
    return value


def ecs_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """aws_checks plus cluster, service and the wait options."""
    return [
        *aws_checks(params),
        (check_name, "cluster", params.get("cluster")),
        (check_name, "service", params.get("service")),
        (check_number, "wait_timeout", params.get("wait_timeout"), 1, MAX_WAIT_TIMEOUT),
        (check_number, "poll_interval", params.get("poll_interval"), 1, 3600),
    ]


def check_name(option: str, value: Any) -> Any:
    """A non-empty ECS name or ARN (at most 2048 characters)."""
    if value is None:
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidOption(option, "must be a non-empty name or ARN")
    if len(value) > 2048:
        raise InvalidOption(option, f"must be a name or ARN of at most 2048 characters, got {len(value)}")
    return value


def botocore_config(timeout: float | None = None) -> Any:
    """A botocore Config whose one call (no botocore retries) cannot outlast a quarter of `timeout`.

    AWSRetry still backs off on throttling; connection errors and read timeouts fail at once, so a
    module with a timeout fails within about that timeout when the endpoint hangs.
    """
    import botocore.config  # imported here: AnsibleAWSModule reports a missing botocore itself

    bound = MAX_READ_TIMEOUT if timeout is None else max(1.0, min(MAX_READ_TIMEOUT, timeout / 4))
    return botocore.config.Config(
        connect_timeout=min(MAX_CONNECT_TIMEOUT, bound),
        read_timeout=bound,
        retries={"total_max_attempts": 1},
    )


# ---------------------------------------------------------------- task definition references


def parse_task_definition(ref: str) -> tuple[str, int | None]:
    """Split a task definition reference (ARN, ``family:revision`` or ``family``) into family and revision."""
    if not ref:
        raise EcsError("empty task definition reference")
    name = ref.split("/")[-1] if ref.startswith("arn:") else ref
    family, sep, revision = name.rpartition(":")
    if not sep:
        return name, None
    if not revision.isdigit():
        raise EcsError(f"task definition '{ref}' is not family:revision or a task definition ARN")
    return family, int(revision)


def task_definition_label(ref: str) -> str:
    """``family:revision`` for a reference; moto returns this form, AWS returns an ARN."""
    family, revision = parse_task_definition(ref)
    return family if revision is None else f"{family}:{revision}"


def same_task_definition(left: str | None, right: str | None) -> bool:
    """True when two references name the same revision, whatever their form."""
    if not left or not right:
        return False
    return task_definition_label(left) == task_definition_label(right)


# ---------------------------------------------------------------- service reads


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, '' for anything else."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def describe_service(client: Any, cluster: str, service: str) -> dict[str, Any]:
    """The ECS service as DescribeServices returns it; EcsError when cluster or service is unknown."""
    try:
        response = client.describe_services(cluster=cluster, services=[service], aws_retry=True)
    except Exception as exc:  # botocore is optional here; classify by code
        code = error_code(exc)
        if code == "ClusterNotFoundException":
            raise EcsError(f"ECS cluster '{cluster}' not found (check the cluster name and region)") from exc
        if code in ("ServiceNotFoundException", "ServiceNotActiveException"):
            raise EcsError(f"ECS service '{service}' not found in cluster '{cluster}'") from exc
        raise
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        raise EcsError(f"ECS service '{service}' not found in cluster '{cluster}' (missing or deleted)")
    return services[0]


def describe_task_definition(client: Any, ref: str) -> dict[str, Any] | None:
    """The task definition for a reference, or None when ECS does not know it."""
    try:
        return client.describe_task_definition(taskDefinition=ref, aws_retry=True)["taskDefinition"]
    except Exception as exc:
        if error_code(exc) in ("ClientException", "InvalidParameterException"):
            return None
        raise


def list_active_revisions(client: Any, family: str, stop_below: int | None = None) -> list[int]:
    """Revision numbers of the family that are ACTIVE, highest first.

    With ``stop_below``, paging stops once a page held a revision below it: pages come newest first
    (sort DESC), so the highest revision below ``stop_below`` has been seen by then.
    """
    revisions: list[int] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"familyPrefix": family, "status": "ACTIVE", "sort": "DESC"}
        if token:
            kwargs["nextToken"] = token
        page = client.list_task_definitions(aws_retry=True, **kwargs)
        for arn in page.get("taskDefinitionArns", []):
            arn_family, revision = parse_task_definition(arn)
            # familyPrefix is a prefix match on AWS: "api" also lists "api-worker"
            if arn_family == family and revision is not None:
                revisions.append(revision)
        token = page.get("nextToken")
        if not token or (stop_below is not None and any(r < stop_below for r in revisions)):
            break
    return sorted(set(revisions), reverse=True)


# ---------------------------------------------------------------- previous revision


@dataclass
class RollbackTarget:
    """Where a rollback goes and why that revision was chosen."""

    task_definition: str
    source: str  # "deployment" | "family" | "explicit"


def choose_previous_task_definition(
    current: str,
    deployments: list[dict[str, Any]],
    is_active: Callable[[str], bool],
    active_revisions: Callable[[str], list[int]],
) -> RollbackTarget:
    """Pick the revision to roll back to.

    First the task definition of the most recent earlier deployment the service still reports
    (an ACTIVE/DRAINING deployment left behind by a rollout in progress or stuck), then the highest
    ACTIVE revision of the same family below the current one. INACTIVE (deregistered) revisions are
    skipped: ECS refuses to move a service onto them.
    """
    earlier = [
        d
        for d in deployments
        if d.get("status") != "PRIMARY"
        and d.get("taskDefinition")
        and not same_task_definition(d["taskDefinition"], current)
    ]
    earlier.sort(key=lambda d: str(d.get("createdAt") or ""), reverse=True)
    for deployment in earlier:
        if is_active(deployment["taskDefinition"]):
            return RollbackTarget(task_definition_label(deployment["taskDefinition"]), "deployment")
    family, revision = parse_task_definition(current)
    if revision is None:
        raise EcsError(f"current task definition '{current}' has no revision number")
    lower = [r for r in active_revisions(family) if r < revision]
    if not lower:
        raise EcsError(
            f"no earlier ACTIVE revision of task definition family '{family}' below revision {revision} "
            "to roll back to (earlier revisions are deregistered or never existed); "
            "pass an explicit task_definition"
        )
    return RollbackTarget(f"{family}:{max(lower)}", "family")


def resolve_rollback_target(client: Any, service: dict[str, Any], explicit: str | None) -> RollbackTarget:
    """The revision a rollback of this service goes to: the explicit one (must be ACTIVE) or the previous one."""
    current = service["taskDefinition"]
    if explicit:
        definition = describe_task_definition(client, explicit)
        if definition is None:
            raise EcsError(f"task definition '{explicit}' not found")
        if definition.get("status") != "ACTIVE":
            raise EcsError(
                f"task definition '{task_definition_label(definition['taskDefinitionArn'])}' is "
                f"{definition.get('status')}; ECS cannot move a service onto a deregistered revision"
            )
        return RollbackTarget(task_definition_label(definition["taskDefinitionArn"]), "explicit")

    def is_active(ref: str) -> bool:
        definition = describe_task_definition(client, ref)
        return bool(definition) and definition.get("status") == "ACTIVE"

    _family, current_revision = parse_task_definition(current)
    return choose_previous_task_definition(
        current,
        service.get("deployments", []),
        is_active,
        lambda family: list_active_revisions(client, family, stop_below=current_revision),
    )


# ---------------------------------------------------------------- stability


@dataclass
class StabilityState:
    """Whether a service is stable, in the platform layer's words."""

    stable: bool
    state: str  # running | progressing | failed | stopped
    reason: str = ""
    unhealthy_targets: list[dict[str, Any]] = field(default_factory=list)


def primary_deployment(service: dict[str, Any]) -> dict[str, Any]:
    """The PRIMARY deployment ({} when the service reports none, e.g. CODE_DEPLOY controllers)."""
    for deployment in service.get("deployments", []) or []:
        if deployment.get("status") == "PRIMARY":
            return deployment
    return {}


def evaluate_stability(service: dict[str, Any], targets: list[dict[str, Any]] | None = None) -> StabilityState:
    """Is the service stable now?

    Stable means: the PRIMARY deployment's rolloutState is COMPLETED (where ECS reports one),
    runningCount == desiredCount, no other deployment remains, and when ``targets`` (target health
    descriptions of the service's target groups) is given, every target not draining is healthy.
    """
    name = service.get("serviceName", "?")
    desired = int(service.get("desiredCount") or 0)
    running = int(service.get("runningCount") or 0)
    if service.get("status") in ("INACTIVE", "DRAINING"):
        return StabilityState(False, "stopped", f"service {name} is {service.get('status')}")
    primary = primary_deployment(service)
    rollout = primary.get("rolloutState")
    if rollout == "FAILED":
        reason = primary.get("rolloutStateReason") or "the deployment circuit breaker stopped the rollout"
        return StabilityState(False, "failed", f"rollout of {name} failed: {reason}")
    others = [d for d in service.get("deployments", []) or [] if d.get("status") != "PRIMARY"]
    reasons = []
    if rollout and rollout != "COMPLETED":
        reasons.append(f"rollout {rollout.lower().replace('_', ' ')}")
    if running != desired:
        reasons.append(f"{running}/{desired} tasks running")
    if others:
        reasons.append(f"{len(others)} older deployment(s) still active")
    unhealthy: list[dict[str, Any]] = []
    if targets is not None:
        current = [t for t in targets if t.get("TargetHealth", {}).get("State") != "draining"]
        unhealthy = [t for t in current if t.get("TargetHealth", {}).get("State") != "healthy"]
        if unhealthy:
            states = sorted({t.get("TargetHealth", {}).get("State", "?") for t in unhealthy})
            reasons.append(f"{len(unhealthy)} load balancer target(s) not healthy ({', '.join(states)})")
        elif desired > 0 and not current:
            reasons.append("no load balancer targets registered yet")
    if reasons:
        return StabilityState(False, "progressing", "; ".join(reasons), unhealthy)
    return StabilityState(True, "stopped" if desired == 0 else "running", "")


def target_health(elbv2: Any, service: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Target health of every target group the service registers into, None when it has none."""
    groups = [lb["targetGroupArn"] for lb in service.get("loadBalancers", []) or [] if lb.get("targetGroupArn")]
    if not groups:
        return None
    descriptions: list[dict[str, Any]] = []
    for arn in groups:
        health = elbv2.describe_target_health(TargetGroupArn=arn, aws_retry=True)
        descriptions.extend(health["TargetHealthDescriptions"])
    return descriptions


@dataclass
class WaitResult:
    service: dict[str, Any]
    state: StabilityState
    waited: float


def wait_for_stable(
    describe: Callable[[], dict[str, Any]],
    targets: Callable[[dict[str, Any]], list[dict[str, Any]] | None] | None,
    timeout: float,
    poll_interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until the service is stable; ServiceNotStable on a failed rollout or after ``timeout`` seconds.

    ``describe`` returns the service (DescribeServices shape); ``targets`` returns its target health
    (or None to skip the load balancer check). The one wait every stratum.ops ECS operation uses.
    """
    start = clock()
    while True:
        service = describe()
        state = evaluate_stability(service, targets(service) if targets else None)
        waited = clock() - start
        if state.stable:
            return WaitResult(service, state, waited)
        name = service.get("serviceName", "?")
        if state.state == "failed":
            raise ServiceNotStable(state.reason, service, state)
        if waited >= timeout:
            raise ServiceNotStable(
                f"ECS service {name} did not become stable within {int(timeout)}s: {state.reason}"
                f"{last_event_hint(service)}",
                service,
                state,
            )
        sleep(max(0.0, min(poll_interval, timeout - waited)))


def last_event_hint(service: dict[str, Any]) -> str:
    """' (last event: ...)' from the service's newest event, '' when there is none."""
    events = service.get("events") or []
    if not events:
        return ""
    newest = max(events, key=lambda e: str(e.get("createdAt") or ""))
    return f" (last event: {newest.get('message', '')})"


# ---------------------------------------------------------------- summaries


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def service_summary(service: dict[str, Any]) -> dict[str, Any]:
    """A snake_case summary of a DescribeServices entry (what modules return as ``service``)."""
    task_definition = service.get("taskDefinition") or ""
    return {
        "service_name": service.get("serviceName"),
        "service_arn": service.get("serviceArn"),
        "cluster_arn": service.get("clusterArn"),
        "status": service.get("status"),
        "task_definition": task_definition,
        "revision": task_definition_label(task_definition) if task_definition else "",
        "desired_count": int(service.get("desiredCount") or 0),
        "running_count": int(service.get("runningCount") or 0),
        "pending_count": int(service.get("pendingCount") or 0),
        "launch_type": service.get("launchType"),
        "deployments": [
            {
                "id": d.get("id"),
                "status": d.get("status"),
                "task_definition": d.get("taskDefinition"),
                "rollout_state": d.get("rolloutState"),
                "rollout_state_reason": d.get("rolloutStateReason"),
                "desired_count": d.get("desiredCount"),
                "running_count": d.get("runningCount"),
                "pending_count": d.get("pendingCount"),
                "failed_tasks": d.get("failedTasks"),
                "created_at": _iso(d.get("createdAt")),
                "updated_at": _iso(d.get("updatedAt")),
            }
            for d in service.get("deployments", []) or []
        ],
        "load_balancers": [
            {
                "target_group_arn": lb.get("targetGroupArn"),
                "load_balancer_name": lb.get("loadBalancerName"),
                "container_name": lb.get("containerName"),
                "container_port": lb.get("containerPort"),
            }
            for lb in service.get("loadBalancers", []) or []
        ],
        "events": [
            {"created_at": _iso(e.get("createdAt")), "message": e.get("message")}
            for e in (service.get("events") or [])[:5]
        ],
    }


def jsonable(value: Any) -> Any:
    """The value with datetimes turned into ISO strings (boto3 returns datetimes)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- container definition edits


def container_definition(definitions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The container called ``name``; EcsError naming the containers that exist otherwise."""
    for container in definitions:
        if container.get("name") == name:
            return container
    names = ", ".join(c.get("name", "?") for c in definitions) or "none"
    raise EcsError(f"container '{name}' not in the task definition (containers: {names})")


def with_image(definitions: list[dict[str, Any]], name: str, image: str) -> list[dict[str, Any]]:
    """A copy of the container definitions with container ``name`` running ``image``."""
    container_definition(definitions, name)
    return [dict(c, image=image) if c.get("name") == name else dict(c) for c in definitions]


def env_changes(container: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Names of the variables that ``wanted`` (None value = unset) would change in the container."""
    secret_names = {s.get("name") for s in container.get("secrets", []) or []}
    clash = sorted(k for k, v in wanted.items() if v is not None and k in secret_names)
    if clash:
        raise EcsError(
            f"{', '.join(clash)} come(s) from secrets (valueFrom) in container '{container.get('name')}'; "
            "change the secret in Secrets Manager / SSM instead of setting a plain variable"
        )
    current = {e.get("name"): e.get("value") for e in container.get("environment", []) or []}
    changed = []
    for key, value in wanted.items():
        if value is None:
            if key in current:
                changed.append(key)
        elif current.get(key) != str(value):
            changed.append(key)
    return sorted(changed)


def with_env(definitions: list[dict[str, Any]], name: str, wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """A copy of the container definitions with variables set (None value: removed) in container ``name``."""
    container_definition(definitions, name)
    result = []
    for container in definitions:
        if container.get("name") != name:
            result.append(dict(container))
            continue
        env = {e.get("name"): e.get("value") for e in container.get("environment", []) or []}
        for key, value in wanted.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        result.append(dict(container, environment=[{"name": k, "value": v} for k, v in sorted(env.items())]))
    return result


def parse_secret_reference(value_from: str) -> dict[str, str]:
    """Where an ECS ``secrets`` valueFrom points: Secrets Manager (secret id, optional JSON key) or SSM.

    Secrets Manager references may carry ``:json-key:version-stage:version-id`` after the secret ARN.
    """
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        parts = value_from.split(":")
        secret_id = ":".join(parts[:7])
        extra = [*parts[7:], "", "", ""]
        return {
            "source": "secretsmanager",
            "id": secret_id,
            "json_key": extra[0],
            "version_stage": extra[1],
            "version_id": extra[2],
        }
    if value_from.startswith("arn:") and ":ssm:" in value_from:
        name = value_from.split(":parameter", 1)[1]
        return {"source": "ssm", "id": name if name.startswith("/") else name.lstrip("/"), "json_key": ""}
    return {"source": "ssm", "id": value_from, "json_key": ""}


# ---------------------------------------------------------------- platform layer helpers

# Task definition fields community.aws.ecs_taskdefinition cannot register: refusing beats silently dropping them.
UNCARRIED_FIELDS = ("pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage")


def image_version(image: str) -> str:
    """The tag (or digest) of an image reference; 'latest' when it has neither."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def platform_status(read: dict[str, Any], container: str) -> dict[str, Any]:
    """The platform layer's view of an ecs_service_wait result for one container."""
    service = read.get("service") or {}
    containers = read.get("containers") or (read.get("task_definition") or {}).get("containerDefinitions") or []
    image = container_definition(containers, container).get("image", "") if containers else ""
    return {
        "revision": read.get("revision") or service.get("revision", ""),
        "image": image,
        "version": image_version(image) if image else "",
        "ready": int(service.get("running_count") or 0),
        "desired": int(service.get("desired_count") or 0),
        "state": read.get("state") or "progressing",
        "reason": read.get("reason") or "",
        "deployment_id": read.get("deployment_id") or "",
    }


def revise_task_definition(
    definition: dict[str, Any], container: str, image: str | None = None, env: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Arguments for community.aws.ecs_taskdefinition registering a revision like ``definition``
    with the container's image and/or environment changed. Keys the definition lacks are left out."""
    if not definition:
        raise EcsError("the service's current task definition could not be read")
    uncarried = [f for f in UNCARRIED_FIELDS if definition.get(f)]
    if uncarried:
        raise EcsError(
            f"task definition {definition.get('family')}:{definition.get('revision')} uses {', '.join(uncarried)}, "
            "which community.aws.ecs_taskdefinition cannot carry to a new revision; deploy it with your IaC instead"
        )
    containers = [dict(c) for c in definition.get("containerDefinitions") or []]
    if image is not None:
        containers = with_image(containers, container, image)
    if env:
        containers = with_env(containers, container, env)
    compat = definition.get("requiresCompatibilities") or []
    args: dict[str, Any] = {
        "family": definition["family"],
        "containers": containers,
        "network_mode": definition.get("networkMode") or "bridge",
        "task_role_arn": definition.get("taskRoleArn") or "",
        "execution_role_arn": definition.get("executionRoleArn") or "",
        "volumes": definition.get("volumes") or [],
        "placement_constraints": definition.get("placementConstraints") or [],
    }
    if "FARGATE" in compat:
        args["launch_type"] = "FARGATE"
    elif "EC2" in compat:
        args["launch_type"] = "EC2"
    for key in ("cpu", "memory"):
        if definition.get(key):
            args[key] = str(definition[key])
    if definition.get("runtimePlatform"):
        args["runtime_platform"] = definition["runtimePlatform"]
    return args
