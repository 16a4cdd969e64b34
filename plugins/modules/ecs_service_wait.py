#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_service_wait
short_description: Read an ECS service's rollout state and wait until it is stable
version_added: 0.1.0
description:
  - Reads an ECS service and its current task definition and reports whether the service is stable,
    with the reason when it is not.
  - With O(wait=true) (the default) polls until the service is stable and fails after O(wait_timeout)
    seconds, or at once when the rollout has C(FAILED), with a message naming the service and the reason.
  - Never changes anything. It exists because M(community.aws.ecs_service) cannot wait for a service to
    become stable, and C(aws ecs wait services-stable) can return before a rollout finished.
author:
  - Stratum SRE (@stratum-sre)
options:
  wait:
    description:
      - Wait until the service is stable; with V(false), read and report once.
    type: bool
    default: true
  include_task_definition:
    description:
      - Also return the service's current task definition in full (RV(task_definition)).
      - It holds the containers' environment values; register it only in tasks marked C(no_log).
    type: bool
    default: false
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.ecs
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
seealso:
  - module: stratum.ops.ecs_rollback
  - module: community.aws.ecs_service
"""

EXAMPLES = r"""
- name: Update the service with the maintained module
  community.aws.ecs_service:
    state: present
    cluster: stratum-prod
    name: stratum-api
    task_definition: stratum-api:43
    desired_count: 4

- name: Wait until stratum-api is stable (ecs_service cannot)
  stratum.ops.ecs_service_wait:
    cluster: stratum-prod
    service: stratum-api
    wait_timeout: 900

- name: Read the rollout state without waiting
  stratum.ops.ecs_service_wait:
    cluster: stratum-prod
    service: stratum-api
    wait: false
  register: api_status
"""

RETURN = r"""
stable:
  description: Whether the service is stable.
  returned: always
  type: bool
  sample: true
state:
  description: V(running), V(progressing), V(failed) or V(stopped) (desired count 0, or service draining).
  returned: always
  type: str
  sample: running
reason:
  description: Why the service is not stable, empty when it is.
  returned: always
  type: str
  sample: 1/3 tasks running; 1 older deployment(s) still active
revision:
  description: The service's task definition as C(family:revision).
  returned: always
  type: str
  sample: stratum-api:43
deployment_id:
  description: ID of the PRIMARY deployment, empty when ECS reports none.
  returned: always
  type: str
  sample: ecs-svc/1234567890123456789
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 12.0
containers:
  description: Name and image of every container of the current task definition (no environment values).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "api", "image": "stratum/api:1.4.2"}]
task_definition:
  description:
    - The service's current task definition exactly as ECS returns it (camelCase keys, e.g. C(containerDefinitions)),
      so its container definitions can be passed back to M(community.aws.ecs_taskdefinition) unchanged.
    - Empty when ECS no longer knows the revision.
  returned: when O(include_task_definition=true)
  type: dict
service:
  description: The service, in snake_case (see M(stratum.ops.ecs_rollback) for the keys).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import (
    RETRY_EXTRA_CODES,
    EcsError,
    ServiceNotStable,
    botocore_config,
    describe_service,
    describe_task_definition,
    ecs_checks,
    ecs_wait_argument_spec,
    evaluate_stability,
    jsonable,
    primary_deployment,
    service_summary,
    target_health,
    task_definition_label,
    wait_for_stable,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = ecs_wait_argument_spec()
    argument_spec.update(wait=dict(type="bool", default=True), include_task_definition=dict(type="bool", default=False))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    validate_module(module, ecs_checks(params))
    retry = AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_EXTRA_CODES)
    ecs = module.client("ecs", retry_decorator=retry, config=botocore_config(params["wait_timeout"]))
    elbv2 = (
        module.client("elbv2", retry_decorator=retry, config=botocore_config(params["wait_timeout"]))
        if params["wait_for_targets"]
        else None
    )
    cluster, name = params["cluster"], params["service"]

    def targets(svc):
        return target_health(elbv2, svc) if elbv2 else None

    waited = 0.0
    try:
        if params["wait"]:
            outcome = wait_for_stable(
                lambda: describe_service(ecs, cluster, name), targets, params["wait_timeout"], params["poll_interval"]
            )
            service, state, waited = outcome.service, outcome.state, outcome.waited
        else:
            service = describe_service(ecs, cluster, name)
            state = evaluate_stability(service, targets(service))
        definition = describe_task_definition(ecs, service["taskDefinition"]) or {}
    except ServiceNotStable as exc:
        module.fail_json(
            msg=str(exc),
            stable=False,
            state=exc.state.state if exc.state else "progressing",
            reason=exc.state.reason if exc.state else str(exc),
            service=service_summary(exc.service),
        )
    except EcsError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:
        module.fail_json_aws(exc, msg=f"cannot read ECS service {name} in cluster {cluster}")

    extra = {"task_definition": jsonable(definition)} if params["include_task_definition"] else {}
    module.exit_json(
        changed=False,
        stable=state.stable,
        state=state.state,
        reason=state.reason,
        revision=task_definition_label(service["taskDefinition"]),
        deployment_id=primary_deployment(service).get("id") or "",
        waited=round(waited, 1),
        containers=[
            {"name": c.get("name"), "image": c.get("image")} for c in definition.get("containerDefinitions") or []
        ],
        service=service_summary(service),
        **extra,
    )


if __name__ == "__main__":
    main()
