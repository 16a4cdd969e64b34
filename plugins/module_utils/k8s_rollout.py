# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout logic for Kubernetes Deployments: status, failure reasons, history, undo, restart.

The pure functions work on plain dicts (the JSON the API returns) so they are unit-testable
without Ansible or a cluster; `RolloutManager` drives them through a small API adapter
(`DynamicApi` wraps kubernetes.core's client).
"""

from __future__ import annotations

import copy
import datetime
import os
import re
import time
from typing import Any, Callable

from ansible_collections.stratum.ops.plugins.module_utils.validation import (
    InvalidOption,
    check_http_url,
    check_number,
    check_text,
    check_timeout,
)

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_WAIT_TIMEOUT = 86400


def check_k8s_name(option: str, value: Any, label: bool = False) -> Any:
    """A Kubernetes object name: DNS subdomain (<= 253) or, for a namespace, DNS label (<= 63)."""
    if value is None:
        return value
    limit, pattern = (63, DNS_LABEL) if label else (253, DNS_SUBDOMAIN)
    what = "DNS label" if label else "DNS subdomain name"
    if not isinstance(value, str) or not value:
        raise InvalidOption(option, f"must be a non-empty Kubernetes name ({what}: lower-case letters, digits, '-')")
    if len(value) > limit or not pattern.match(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidOption(
            option,
            f"must be a Kubernetes {what} (lower-case letters, digits, '-'{'' if label else ', ' + repr('.')}; "
            f"at most {limit} characters), got {shown!r}",
        )
    return value


def check_existing_file(option: str, value: Any) -> Any:
    """A path to a file that exists (ca_cert, client_cert, client_key, kubeconfig)."""
    if value is None:
        return value
    check_text(option, value)
    if not isinstance(value, str) or not os.path.isfile(os.path.expanduser(value)):
        raise InvalidOption(option, f"must name an existing file, got {value!r}")
    return value


def check_kubeconfig(option: str, value: Any) -> Any:
    """kubernetes.core accepts a file path or the kubeconfig itself as a dict; nothing else."""
    if value is None or isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise InvalidOption(
            option, f"must be the path of a kubeconfig file or a kubeconfig dict, got {type(value).__name__}"
        )
    return check_existing_file(option, value)


def k8s_checks(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Validation of kubernetes.core's auth options and the rollout options (validate_module runs them)."""
    return [
        (check_k8s_name, "name", params.get("name")),
        (check_k8s_name, "namespace", params.get("namespace"), True),
        (check_http_url, "host", params.get("host")),
        (check_kubeconfig, "kubeconfig", params.get("kubeconfig")),
        (check_existing_file, "ca_cert", params.get("ca_cert")),
        (check_existing_file, "client_cert", params.get("client_cert")),
        (check_existing_file, "client_key", params.get("client_key")),
        (check_number, "wait_timeout", params.get("wait_timeout"), 1, MAX_WAIT_TIMEOUT),
        (check_timeout, "wait_sleep", params.get("wait_sleep"), 3600),
        (check_number, "to_revision", params.get("to_revision"), 0, 2**31 - 1),
    ]


REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"

# Container waiting reasons that mean a rollout will not make progress by itself.
FAILING_WAITING_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
)


class RolloutError(Exception):
    """An expected failure (not found, bad revision, failed rollout) with an actionable message."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


def _annotations(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def revision_of(obj: dict) -> int:
    """The deployment.kubernetes.io/revision of a Deployment or ReplicaSet (0 when unset)."""
    try:
        return int(_annotations(obj).get(REVISION_ANNOTATION) or 0)
    except ValueError:
        return 0


def container_images(template: dict) -> dict[str, str]:
    """Container name -> image of a pod template."""
    spec = (template or {}).get("spec") or {}
    return {c.get("name"): c.get("image") for c in spec.get("containers") or []}


def selector_string(selector: dict | None) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as a label-selector query string."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        values = ",".join(expr.get("values") or [])
        operator = expr.get("operator")
        if operator == "In":
            terms.append(f"{expr['key']} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{expr['key']} notin ({values})")
        elif operator == "Exists":
            terms.append(expr["key"])
        elif operator == "DoesNotExist":
            terms.append(f"!{expr['key']}")
    return ",".join(terms)


def owned_by(objects: list[dict], owner_uid: str) -> list[dict]:
    """The objects whose ownerReferences name this owner uid."""
    return [
        o
        for o in objects
        if any(ref.get("uid") == owner_uid for ref in (o.get("metadata") or {}).get("ownerReferences") or [])
    ]


def condition(obj: dict, ctype: str) -> dict:
    """The status condition of this type, or {}."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return {}


def rollout_counts(deployment: dict) -> dict[str, int]:
    """desired / updated / ready / available / total replica counts of a Deployment."""
    status = deployment.get("status") or {}
    spec = deployment.get("spec") or {}
    return {
        "desired": int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
        "updated": int(status.get("updatedReplicas") or 0),
        "ready": int(status.get("readyReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
        "total": int(status.get("replicas") or 0),
    }


def rollout_state(deployment: dict) -> tuple[str, str]:
    """('complete' | 'progressing' | 'failed', why) with the logic of `kubectl rollout status`."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    counts = rollout_counts(deployment)
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return "progressing", "waiting for the deployment spec update to be observed"
    progressing = condition(deployment, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed", progressing.get("message") or "progress deadline exceeded"
    if counts["updated"] < counts["desired"]:
        return "progressing", f"{counts['updated']} of {counts['desired']} updated replicas are available"
    if counts["total"] > counts["updated"]:
        return "progressing", f"{counts['total'] - counts['updated']} old replicas are pending termination"
    if counts["available"] < counts["updated"]:
        return "progressing", f"{counts['available']} of {counts['updated']} updated replicas are available"
    return "complete", ""


def _pod_phrase(count: int, what: str) -> str:
    return f"{count} pod{'s' if count != 1 else ''} {what}"


def failure_reason(pods: list[dict], events: list[dict], deployment: dict | None = None) -> str:
    """Why the pods of a rollout do not become ready, in words for the person on call.

    Looks at container waiting reasons (ImagePullBackOff, CrashLoopBackOff...), unschedulable pods,
    then Warning events; falls back to the Deployment's Progressing condition. '' when nothing is wrong.
    """
    by_reason: dict[tuple[str, str], int] = {}
    unschedulable: dict[str, int] = {}
    for pod in pods:
        status = pod.get("status") or {}
        for cond in status.get("conditions") or []:
            if (
                cond.get("type") == "PodScheduled"
                and cond.get("status") == "False"
                and cond.get("reason") == "Unschedulable"
            ):
                message = cond.get("message") or "no node fits the pod"
                unschedulable[message] = unschedulable.get(message, 0) + 1
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason") or ""
            if reason in FAILING_WAITING_REASONS:
                key = (reason, cs.get("image") or "")
                by_reason[key] = by_reason.get(key, 0) + 1
    parts = []
    for (reason, image), count in sorted(by_reason.items(), key=lambda item: -item[1]):
        detail = f" for image {image}" if image else ""
        parts.append(_pod_phrase(count, f"in {reason}{detail}"))
    for message, count in unschedulable.items():
        parts.append(_pod_phrase(count, f"unschedulable: {message}"))
    if parts:
        return "; ".join(parts)
    pod_names = {(p.get("metadata") or {}).get("name") for p in pods}
    warnings = [
        e
        for e in events
        if e.get("type") == "Warning" and (e.get("involvedObject") or {}).get("name") in pod_names and e.get("message")
    ]
    if warnings:
        latest = sorted(warnings, key=lambda e: e.get("lastTimestamp") or "")[-1]
        return f"{latest.get('reason')}: {latest.get('message')}"
    if deployment is not None:
        state, why = rollout_state(deployment)
        if state == "failed":
            return why
    return ""


def revision_history(deployment: dict, replicasets: list[dict]) -> list[dict]:
    """The rollout history of a Deployment from its ReplicaSets, oldest first."""
    current = revision_of(deployment)
    history = []
    for rs in owned_by(replicasets, (deployment.get("metadata") or {}).get("uid")):
        revision = revision_of(rs)
        if not revision:
            continue
        annotations = _annotations(rs)
        earlier = [
            int(r) for r in (annotations.get(REVISION_HISTORY_ANNOTATION) or "").split(",") if r.strip().isdigit()
        ]
        history.append(
            {
                "revision": revision,
                "previous_revisions": earlier,
                "replicaset": rs["metadata"]["name"],
                "images": container_images((rs.get("spec") or {}).get("template")),
                "change_cause": annotations.get(CHANGE_CAUSE_ANNOTATION, ""),
                "replicas": int((rs.get("spec") or {}).get("replicas") or 0),
                "current": revision == current,
                "created": rs["metadata"].get("creationTimestamp", ""),
            }
        )
    return sorted(history, key=lambda h: h["revision"])


def pick_rollback_target(history: list[dict], current: int, to_revision: int | None) -> dict | None:
    """The history entry to roll back to: `to_revision`, or the newest before the current one.

    An entry also answers to the revisions it had before the controller renumbered it
    (revision-history annotation), so rolling back to a revision twice finds the current one.
    Returns None when there is nothing to roll back to; raises RolloutError for an unknown revision.
    """
    if to_revision:
        for entry in history:
            if entry["revision"] == to_revision or to_revision in entry["previous_revisions"]:
                return entry
        known = ", ".join(str(h["revision"]) for h in history) or "none"
        raise RolloutError(f"revision {to_revision} is not in the rollout history (revisions: {known})")
    older = [h for h in history if h["revision"] < current]
    return older[-1] if older else None


def rollback_patch(replicaset: dict) -> list[dict]:
    """JSON patch that puts a ReplicaSet's pod template back on its Deployment (what kubectl undo sends)."""
    template = copy.deepcopy((replicaset.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(POD_TEMPLATE_HASH, None)
    return [{"op": "replace", "path": "/spec/template", "value": template}]


def restart_patch(at: datetime.datetime | None = None) -> dict:
    """Strategic merge patch that restarts every pod (what `kubectl rollout restart` sends)."""
    stamp = (at or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}


def summarize(deployment: dict, container: str | None = None) -> dict:
    """The facts every action returns: revision, images, counts, state."""
    state, why = rollout_state(deployment)
    images = container_images((deployment.get("spec") or {}).get("template"))
    image = images.get(container) if container else next(iter(images.values()), None)
    meta = deployment.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "revision": revision_of(deployment),
        "generation": int(meta.get("generation") or 0),
        "observed_generation": int((deployment.get("status") or {}).get("observedGeneration") or 0),
        "images": images,
        "image": image or "",
        "state": state,
        "message": why,
        **rollout_counts(deployment),
        "conditions": (deployment.get("status") or {}).get("conditions") or [],
    }


class RolloutManager:
    """Runs status / history / undo / restart against an API adapter with get/list/patch methods."""

    def __init__(
        self,
        api: Any,
        namespace: str,
        name: str,
        container: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.container = container
        self.sleep = sleep
        self.clock = clock

    def deployment(self) -> dict:
        """The Deployment, or a RolloutError naming what is missing (namespace or deployment)."""
        found = self.api.get_deployment(self.namespace, self.name)
        if found is None:
            if not self.api.namespace_exists(self.namespace):
                raise RolloutError(
                    f"namespace '{self.namespace}' does not exist (looking for Deployment '{self.name}')"
                )
            raise RolloutError(f"Deployment '{self.name}' not found in namespace '{self.namespace}'")
        return found

    def replicasets(self, deployment: dict) -> list[dict]:
        return self.api.list_replicasets(self.namespace, selector_string(deployment["spec"].get("selector")))

    def history(self) -> list[dict]:
        deployment = self.deployment()
        return revision_history(deployment, self.replicasets(deployment))

    def rollout_pods(self, deployment: dict) -> list[dict]:
        """The pods of the newest ReplicaSet (the ones the rollout waits for)."""
        current = revision_of(deployment)
        new_rs = [
            rs
            for rs in owned_by(self.replicasets(deployment), deployment["metadata"]["uid"])
            if revision_of(rs) == current
        ]
        if not new_rs:
            return []
        pods = self.api.list_pods(self.namespace, selector_string(deployment["spec"].get("selector")))
        return owned_by(pods, new_rs[0]["metadata"]["uid"])

    def diagnose(self, deployment: dict) -> str:
        """Why this rollout is failing ('' when nothing is wrong)."""
        pods = self.rollout_pods(deployment)
        events = self.api.list_events(self.namespace) if pods else []
        return failure_reason(pods, events, deployment)

    def status(self, wait: bool = True, timeout: float = 600, interval: float = 2) -> dict:
        """Wait until the rollout is complete, failed (progress deadline) or `timeout` passes."""
        deadline = self.clock() + timeout
        deployment = self.deployment()
        while True:
            state, _dummy = rollout_state(deployment)
            if state != "progressing" or not wait or self.clock() >= deadline:
                break
            self.sleep(interval)
            deployment = self.deployment()
        result = summarize(deployment, self.container)
        result["reason"] = ""
        if state == "failed" or (wait and state == "progressing"):
            result["reason"] = self.diagnose(deployment) or result["message"]
            if state == "progressing":
                result["state"] = "timeout"
                result["reason"] = f"not complete after {timeout:g}s: {result['reason'] or result['message']}"
        elif state == "progressing":
            result["reason"] = self.diagnose(deployment)
        return result

    def undo(self, to_revision: int | None, check_mode: bool) -> dict:
        """Put an earlier revision's pod template back (kubectl rollout undo); changes nothing in check mode."""
        deployment = self.deployment()
        replicasets = owned_by(self.replicasets(deployment), deployment["metadata"]["uid"])
        history = revision_history(deployment, replicasets)
        current = revision_of(deployment)
        target = pick_rollback_target(history, current, to_revision)
        before = summarize(deployment, self.container)
        result: dict[str, Any] = {
            "changed": False,
            "from_revision": current,
            "from_image": before["image"],
            "to_revision": current,
            "to_image": before["image"],
        }
        if target is None:
            result["msg"] = f"no earlier revision of Deployment '{self.name}' to roll back to"
            return result
        result.update(
            to_revision=target["revision"],
            to_image=target["images"].get(self.container)
            if self.container
            else next(iter(target["images"].values()), ""),
        )
        if to_revision and to_revision in target["previous_revisions"]:
            result["to_revision"] = to_revision
        if target["current"]:
            result["msg"] = f"Deployment '{self.name}' already runs revision {result['to_revision']}"
            return result
        result["changed"] = True
        if check_mode:
            result["msg"] = (
                f"would roll Deployment '{self.name}' back from revision {current} to {result['to_revision']}"
            )
            return result
        rs = next(r for r in replicasets if r["metadata"]["name"] == target["replicaset"])
        self.api.patch_deployment(self.namespace, self.name, rollback_patch(rs), "application/json-patch+json")
        result["msg"] = f"rolled Deployment '{self.name}' back from revision {current} to {result['to_revision']}"
        return result

    def restart(self, check_mode: bool, at: datetime.datetime | None = None) -> dict:
        """Rolling restart through the restartedAt template annotation."""
        deployment = self.deployment()
        patch = restart_patch(at)
        restarted_at = patch["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT_ANNOTATION]
        if not check_mode:
            self.api.patch_deployment(self.namespace, self.name, patch, "application/strategic-merge-patch+json")
        return {"changed": True, "restarted_at": restarted_at, "from_revision": revision_of(deployment)}


class DynamicApi:
    """The API adapter RolloutManager uses, over kubernetes.core's K8SClient (dynamic client)."""

    def __init__(self, k8s_client: Any) -> None:
        self.client = k8s_client
        self._resources: dict[tuple[str, str], Any] = {}

    def _resource(self, kind: str, api_version: str) -> Any:
        key = (kind, api_version)
        if key not in self._resources:
            self._resources[key] = self.client.resource(kind, api_version)
        return self._resources[key]

    def _get(self, kind: str, api_version: str, namespace: str | None, name: str) -> dict | None:
        from kubernetes.dynamic.exceptions import NotFoundError  # imported lazily: the module checks the library

        try:
            return self.client.get(self._resource(kind, api_version), name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def get_deployment(self, namespace: str, name: str) -> dict | None:
        return self._get("Deployment", "apps/v1", namespace, name)

    def namespace_exists(self, namespace: str) -> bool:
        return self._get("Namespace", "v1", None, namespace) is not None

    def _list(self, kind: str, api_version: str, namespace: str, selector: str = "") -> list[dict]:
        params: dict[str, Any] = {"namespace": namespace}
        if selector:
            params["label_selector"] = selector
        return self.client.get(self._resource(kind, api_version), **params).to_dict().get("items") or []

    def list_replicasets(self, namespace: str, selector: str) -> list[dict]:
        return self._list("ReplicaSet", "apps/v1", namespace, selector)

    def list_pods(self, namespace: str, selector: str) -> list[dict]:
        return self._list("Pod", "v1", namespace, selector)

    def list_events(self, namespace: str) -> list[dict]:
        return self._list("Event", "v1", namespace)

    def patch_deployment(self, namespace: str, name: str, body: Any, content_type: str) -> dict:
        resource = self._resource("Deployment", "apps/v1")
        return self.client.client.patch(
            resource, body, name=name, namespace=namespace, content_type=content_type
        ).to_dict()
