#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_rollout
short_description: Rollout status, history, undo and restart for Kubernetes Deployments
version_added: 0.1.0
description:
  - What C(kubectl rollout status|history|undo|restart) does, for Deployments, as an idempotent module
    with a real check mode.
  - C(status) waits until the rollout completes or its C(progressDeadlineSeconds) passes, and says why it
    failed (pods in ImagePullBackOff or CrashLoopBackOff, unschedulable pods, warning events).
  - C(undo) goes back to the previous revision or to O(to_revision) and waits; in check mode it reports the
    revisions it would move between and changes nothing. Unlike kubernetes.core.k8s_rollback it reports
    C(changed=false) when the Deployment already runs the requested revision.
  - C(restart) sets the C(kubectl.kubernetes.io/restartedAt) pod-template annotation and waits.
author:
  - Stratum SRE (@stratum)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    description: Reads the Deployment and reports what undo or restart would change, changing nothing.
    support: full
  diff_mode:
    description: Does not return a diff.
    support: none
options:
  action:
    description:
      - C(status) reads (and with O(wait) waits for) the rollout; never changes anything.
      - C(history) lists the revisions from the Deployment's ReplicaSets; never changes anything.
      - C(undo) rolls back to the previous revision, or to O(to_revision).
      - C(restart) restarts every pod with a rolling update.
    type: str
    choices: [status, history, undo, restart]
    default: status
  kind:
    description: Kind of the workload. Only Deployments are supported.
    type: str
    choices: [Deployment]
    default: Deployment
  name:
    description: Name of the Deployment.
    type: str
    required: true
  namespace:
    description: Namespace of the Deployment.
    type: str
    required: true
  container:
    description:
      - Container whose image is reported as RV(rollout.image). Defaults to the first container.
    type: str
  to_revision:
    description:
      - Revision to roll back to with O(action=undo). Omit (or 0) for the previous revision.
      - A revision the controller renumbered when it was rolled back to still finds its ReplicaSet.
    type: int
  wait:
    description:
      - Wait for the rollout to finish (O(action=status), and after O(action=undo) or O(action=restart)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait at most; the Deployment's own C(progressDeadlineSeconds) usually ends the wait first.
    type: int
    default: 600
  wait_sleep:
    description: Seconds between two reads while waiting.
    type: float
    default: 2
  fail_on_rollout_failure:
    description:
      - Fail the task when the rollout failed or did not finish within O(wait_timeout).
      - Set to V(false) to get RV(rollout.state) and RV(rollout.reason) back and decide in the play.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0
notes:
  - StatefulSets and DaemonSets are not supported yet.
seealso:
  - module: kubernetes.core.k8s_rollback
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Wait for the API rollout and fail with the reason if it does not complete
  stratum.ops.k8s_rollout:
    action: status
    namespace: production
    name: stratum-api
    container: api

- name: Roll back to revision 3 (check mode shows from/to and changes nothing)
  stratum.ops.k8s_rollout:
    action: undo
    namespace: production
    name: stratum-api
    to_revision: 3

- name: Rolling restart of the workers
  stratum.ops.k8s_rollout:
    action: restart
    namespace: production
    name: stratum-workers
    kubeconfig: ~/.kube/stratum-prod
    context: prod
"""

RETURN = r"""
rollout:
  description: The Deployment's rollout after the action (before it in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Deployment name.
      type: str
      sample: stratum-api
    namespace:
      description: Namespace.
      type: str
      sample: production
    state:
      description: C(complete), C(progressing), C(failed) (progress deadline exceeded) or C(timeout).
      type: str
      sample: complete
    reason:
      description: Why the rollout fails, C('') when it does not.
      type: str
      sample: 2 pods in ImagePullBackOff for image stratum/api:1.4.2
    message:
      description: The rollout's progress in words, as kubectl rollout status prints it.
      type: str
      sample: 1 of 2 updated replicas are available
    revision:
      description: Current revision (C(deployment.kubernetes.io/revision)).
      type: int
      sample: 4
    image:
      description: Image of O(container) (or the first container).
      type: str
      sample: stratum/api:1.4.2
    images:
      description: Container name to image.
      type: dict
      sample: {"api": "stratum/api:1.4.2"}
    desired:
      description: spec.replicas.
      type: int
      sample: 2
    ready:
      description: status.readyReplicas.
      type: int
      sample: 2
    updated:
      description: status.updatedReplicas.
      type: int
      sample: 2
    available:
      description: status.availableReplicas.
      type: int
      sample: 2
    total:
      description: status.replicas (old and new pods).
      type: int
      sample: 2
    generation:
      description: metadata.generation.
      type: int
      sample: 5
    observed_generation:
      description: status.observedGeneration.
      type: int
      sample: 5
    conditions:
      description: status.conditions.
      type: list
      elements: dict
      sample: []
history:
  description: Revisions, oldest first (O(action=history) and O(action=undo)).
  returned: when action is history or undo
  type: list
  elements: dict
  sample: [{"revision": 1, "replicaset": "stratum-api-5d9c", "images": {"api": "stratum/api:1.4.1"},
            "change_cause": "", "replicas": 0, "current": false, "previous_revisions": [], "created": ""}]
from_revision:
  description: Revision before the action (undo, restart).
  returned: when action is undo or restart
  type: int
  sample: 4
to_revision:
  description: Revision rolled back to, as asked (undo).
  returned: when action is undo
  type: int
  sample: 3
from_image:
  description: Image before the rollback.
  returned: when action is undo
  type: str
  sample: stratum/api:1.4.2
to_image:
  description: Image of the revision rolled back to.
  returned: when action is undo
  type: str
  sample: stratum/api:1.4.1
restarted_at:
  description: Value of the restartedAt annotation set (or that would be set).
  returned: when action is restart
  type: str
  sample: "2026-01-01T03:00:00Z"
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: rolled Deployment 'stratum-api' back from revision 4 to 3
"""

import socket
import traceback

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
except ImportError:  # kubernetes.core is a declared dependency; keep the import check readable
    AnsibleK8SModule = None

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.deadline import DeadlineExceeded, Progress, hard_deadline
from ansible_collections.stratum.ops.plugins.module_utils.k8s_rollout import (
    DynamicApi,
    RolloutError,
    RolloutManager,
    k8s_checks,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module

# One API request (discovery included) waits at most this long for the server; the whole run is bounded too.
REQUEST_TIMEOUT = 20
DEADLINE_MARGIN = 5


def argument_spec():
    """kubernetes.core's auth options plus the rollout options."""
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        action=dict(type="str", choices=["status", "history", "undo", "restart"], default="status"),
        kind=dict(type="str", choices=["Deployment"], default="Deployment"),
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        container=dict(type="str"),
        to_revision=dict(type="int"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="float", default=2),
        fail_on_rollout_failure=dict(type="bool", default=True),
    )
    return spec


def api_error_message(exc):
    """A one-line message for an API/connection error."""
    status = getattr(exc, "status", None)
    if status in (401, 403):
        word = "Unauthorized" if status == 401 else "Forbidden"
        hint = "check the credentials (api_key, kubeconfig, context)"
        return "Kubernetes API refused the request ({0} {1}): {2}".format(status, word, hint)
    summary = getattr(exc, "summary", None)
    if callable(summary):
        try:
            return "Kubernetes API error {0}: {1}".format(status, summary())
        except Exception:  # pylint: disable=broad-exception-caught
            pass
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Max retries exceeded" in text or "Connection refused" in text or "NewConnectionError" in text:
        return "cannot reach the Kubernetes API: {0}".format(text)
    return "Kubernetes API error: {0}".format(text)


def run(module, manager):
    """Do the requested action; returns the exit_json arguments."""
    params = module.params
    action = params["action"]
    label = "{0}/{1}".format(params["namespace"], params["name"])
    if action == "history":
        history = manager.history()
        rollout = manager.status(wait=False)
        return dict(
            changed=False, history=history, rollout=rollout, msg="{0} has {1} revisions".format(label, len(history))
        )
    if action == "status":
        rollout = manager.status(wait=params["wait"], timeout=params["wait_timeout"], interval=params["wait_sleep"])
        return dict(changed=False, rollout=rollout, msg=rollout_message(label, rollout))
    if action == "undo":
        result = manager.undo(params["to_revision"] or None, module.check_mode)
        result["history"] = manager.history()
    else:
        result = manager.restart(module.check_mode)
    wait = params["wait"] and result["changed"] and not module.check_mode
    result["rollout"] = manager.status(wait=wait, timeout=params["wait_timeout"], interval=params["wait_sleep"])
    if wait and result["rollout"]["state"] != "complete":
        result["msg"] = "{0}, but the rollout did not complete: {1}".format(
            result.get("msg", action), rollout_message(label, result["rollout"])
        )
    elif action == "restart":
        result["msg"] = ("would restart " if module.check_mode else "restarted ") + label
    return result


def rollout_message(label, rollout):
    if rollout["state"] == "complete":
        return "Deployment {0} rollout complete at revision {1} ({2}/{3} ready)".format(
            label, rollout["revision"], rollout["ready"], rollout["desired"]
        )
    if rollout["state"] in ("failed", "timeout"):
        return "Deployment {0} rollout failed: {1}".format(label, rollout["reason"] or rollout["message"])
    return "Deployment {0} rollout in progress: {1}".format(label, rollout["message"])


def main():
    if AnsibleK8SModule is None:
        module = AnsibleModule(argument_spec=dict(), supports_check_mode=True)
        module.fail_json(msg=missing_required_lib("kubernetes.core collection"))
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True, check_pyyaml=False)
    params = module.params
    validate_module(module, k8s_checks(params))
    # The kubernetes client sets no socket timeout of its own: a hung API server would block forever.
    socket.setdefaulttimeout(min(REQUEST_TIMEOUT, params["wait_timeout"]))
    progress = Progress("connecting to the Kubernetes API")
    label = "{0}/{1}".format(params["namespace"], params["name"])
    try:
        with hard_deadline(params["wait_timeout"] + DEADLINE_MARGIN, "Deployment " + label, progress):
            client = get_api_client(module=module)
            progress.step = "running {0} on Deployment {1}".format(params["action"], label)
            manager = RolloutManager(DynamicApi(client), params["namespace"], params["name"], params["container"])
            result = run(module, manager)
    except DeadlineExceeded as exc:
        module.fail_json(msg="{0} (wait_timeout {1}s)".format(exc, params["wait_timeout"]))
    except RolloutError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except CoreException as exc:
        module.fail_json(msg="cannot connect to Kubernetes: {0}".format(exc))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        message = api_error_message(exc)
        if message.startswith("cannot reach") or getattr(exc, "status", None):
            module.fail_json(msg=message)
        module.fail_json(msg="unexpected error: {0}".format(message), exception=traceback.format_exc())
    rollout = result["rollout"]
    failed = (
        params["fail_on_rollout_failure"]
        and params["action"] != "history"
        and rollout["state"] in ("failed", "timeout")
    )
    if params["action"] in ("undo", "restart") and not result["changed"]:
        failed = False
    if failed:
        result.setdefault("msg", rollout_message("{0}/{1}".format(params["namespace"], params["name"]), rollout))
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
