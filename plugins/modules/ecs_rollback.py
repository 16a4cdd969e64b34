#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_rollback
short_description: Roll an ECS service back to its previous (or a given) task definition and wait until stable
version_added: 0.1.0
description:
  - Moves an ECS service back to an earlier task definition revision and, by default, waits until the
    service is stable on it.
  - Without O(task_definition) the target is the task definition of the most recent earlier deployment
    the service still reports (a rollout in progress or stuck), else the highest C(ACTIVE) revision of the
    same family below the current one. C(INACTIVE) (deregistered) revisions are never chosen.
  - Fails with a clear message when there is no earlier revision to go back to.
author:
  - Stratum SRE (@stratum-sre)
options:
  task_definition:
    description:
      - Revision to roll back to, as C(family:revision) or a task definition ARN.
      - It must be C(ACTIVE).
      - Default is the previous revision (see the description).
    type: str
  wait:
    description:
      - Wait until the service is stable on the target revision (see the notes).
      - Also applies when the service is already on the target, so a rerun after a timeout waits again.
    type: bool
    default: true
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.ecs
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Reads the service and reports the revisions it would move from and to; changes nothing.
  diff_mode:
    support: none
seealso:
  - module: stratum.ops.ecs_service_wait
  - module: community.aws.ecs_service
"""

EXAMPLES = r"""
- name: Roll stratum-api back to the previous revision and wait until it is stable
  stratum.ops.ecs_rollback:
    cluster: stratum-prod
    service: stratum-api

- name: Roll back to a named revision, give up after five minutes
  stratum.ops.ecs_rollback:
    cluster: stratum-prod
    service: stratum-api
    task_definition: stratum-api:41
    wait_timeout: 300

- name: What would a rollback do?
  stratum.ops.ecs_rollback:
    cluster: stratum-prod
    service: stratum-api
  check_mode: true
  register: plan
"""

RETURN = r"""
rolled_back:
  description: Whether the service was (in check mode, would be) moved to another task definition.
  returned: always
  type: bool
  sample: true
from_task_definition:
  description: The revision the service ran before, as C(family:revision).
  returned: always
  type: str
  sample: stratum-api:42
to_task_definition:
  description: The revision the service runs after the rollback, as C(family:revision).
  returned: always
  type: str
  sample: stratum-api:41
target_source:
  description: >-
    How the target was chosen, V(explicit) (O(task_definition)), V(deployment) (an earlier deployment the
    service still reports) or V(family) (highest ACTIVE revision below the current one).
  returned: always
  type: str
  sample: family
deployment_id:
  description: ID of the service's PRIMARY deployment after the call (the rollback's deployment when it rolled back).
  returned: always
  type: str
  sample: ecs-svc/1234567890123456789
stable:
  description: Whether the service was seen stable (V(false) when O(wait=false) or in check mode).
  returned: always
  type: bool
  sample: true
waited:
  description: Seconds spent waiting for stability.
  returned: always
  type: float
  sample: 42.5
service:
  description: The service after the rollback, in snake_case.
  returned: always
  type: dict
  contains:
    service_name:
      description: Service name.
      type: str
      sample: stratum-api
    service_arn:
      description: Service ARN.
      type: str
    cluster_arn:
      description: Cluster ARN.
      type: str
    status:
      description: Service status (ACTIVE, DRAINING, INACTIVE).
      type: str
    task_definition:
      description: Task definition as ECS reports it (an ARN on AWS, C(family:revision) on some emulators).
      type: str
    revision:
      description: The task definition as C(family:revision).
      type: str
      sample: stratum-api:41
    desired_count:
      description: Desired task count.
      type: int
    running_count:
      description: Running task count.
      type: int
    pending_count:
      description: Pending task count.
      type: int
    launch_type:
      description: Launch type.
      type: str
    deployments:
      description: Deployments the service reports (id, status, task_definition, rollout_state, counts, times).
      type: list
      elements: dict
    load_balancers:
      description: Load balancers the service registers into.
      type: list
      elements: dict
    events:
      description: The five newest service events (created_at, message).
      type: list
      elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import (
    RETRY_EXTRA_CODES,
    EcsError,
    ServiceNotStable,
    botocore_config,
    describe_service,
    ecs_checks,
    ecs_wait_argument_spec,
    primary_deployment,
    resolve_rollback_target,
    same_task_definition,
    service_summary,
    target_health,
    task_definition_label,
    wait_for_stable,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = ecs_wait_argument_spec()
    argument_spec.update(task_definition=dict(type="str"), wait=dict(type="bool", default=True))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    validate_module(module, ecs_checks(params))
    retry = AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_EXTRA_CODES)
    ecs = module.client("ecs", retry_decorator=retry, config=botocore_config(params["wait_timeout"]))
    cluster, name = params["cluster"], params["service"]
    result = dict(changed=False, rolled_back=False, stable=False, waited=0.0)

    try:
        service = describe_service(ecs, cluster, name)
        current = task_definition_label(service["taskDefinition"])
        target = resolve_rollback_target(ecs, service, params["task_definition"])
    except EcsError as exc:
        module.fail_json(msg=f"cannot roll back ECS service {name}: {exc}")
    except Exception as exc:  # AWS errors other than the expected ones
        module.fail_json_aws(exc, msg=f"cannot roll back ECS service {name} in cluster {cluster}")

    result.update(from_task_definition=current, to_task_definition=target.task_definition, target_source=target.source)
    moving = not same_task_definition(current, target.task_definition)
    if moving:
        result.update(changed=True, rolled_back=True)
        if not module.check_mode:
            try:
                service = ecs.update_service(
                    cluster=cluster, service=name, taskDefinition=target.task_definition, aws_retry=True
                )["service"]
            except Exception as exc:
                module.fail_json_aws(exc, msg=f"ECS refused to move service {name} to {target.task_definition}")

    if params["wait"] and not module.check_mode:
        elbv2 = (
            module.client("elbv2", retry_decorator=retry, config=botocore_config(params["wait_timeout"]))
            if params["wait_for_targets"]
            else None
        )
        try:
            waited = wait_for_stable(
                lambda: describe_service(ecs, cluster, name),
                (lambda svc: target_health(elbv2, svc)) if elbv2 else None,
                params["wait_timeout"],
                params["poll_interval"],
            )
        except ServiceNotStable as exc:
            result.update(service=service_summary(exc.service), deployment_id=primary_deployment(exc.service).get("id"))
            module.fail_json(msg=f"rollback of {name} to {target.task_definition}: {exc}", **result)
        except EcsError as exc:
            module.fail_json(msg=f"rollback of {name}: {exc}", **result)
        except Exception as exc:
            module.fail_json_aws(exc, msg=f"waiting for ECS service {name} to become stable failed")
        service = waited.service
        result.update(stable=True, waited=round(waited.waited, 1))

    result.update(service=service_summary(service), deployment_id=primary_deployment(service).get("id") or "")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
