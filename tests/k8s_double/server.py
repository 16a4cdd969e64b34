"""TEST DOUBLE of the Kubernetes API server — not a cluster, not for production use.

No Kubernetes cluster can run on the CI machines, so the Kubernetes side of stratum.ops is tested
against this small HTTP server (stdlib ThreadingHTTPServer on a real 127.0.0.1 socket). The
`kubernetes` Python client and kubernetes.core (k8s, k8s_info, k8s_scale, k8s_rollback) talk to it
unchanged through a generated kubeconfig (http, bearer token).

What it serves:
- discovery: /version, /api, /apis, /api/v1, /apis/apps/v1, /apis/autoscaling/v2 (+ /v1);
- namespaced CRUD for Deployments, ReplicaSets, Pods, HPAs, Events, ConfigMaps, Secrets and
  Namespaces: GET/LIST (label selectors incl. set-based, field selectors), POST, PUT (optimistic
  concurrency on resourceVersion), PATCH (merge, strategic merge with lists merged by key, JSON
  patch), DELETE (owned objects are garbage-collected), `dryRun=All`, the deployments/scale and
  /status subresources; pods/log (text) from a logs directory (`logs_dir`, --logs-dir or POST
  /_double/logs {"dir": ...}): <dir>/<pod>.log, else <dir>/<container>.log - the container's stdout,
  which every pod of that container shares in the double - honouring tailLines and sinceSeconds (by the
  `ts` of JSON lines);
- a simulated deployment controller: a pod-template change bumps `metadata.generation` and creates a
  ReplicaSet carrying `deployment.kubernetes.io/revision` (going back to an old template reuses and
  renumbers the old ReplicaSet, as the real controller does); pods are created per ReplicaSet and
  become ready after `ready_delay` seconds; status (observedGeneration, replicas, updatedReplicas,
  readyReplicas, availableReplicas, conditions Available/Progressing with reasons
  NewReplicaSetAvailable / ReplicaSetUpdated / ProgressDeadlineExceeded) follows;
- failures: an image whose name contains `broken` (or matches a rule set through POST
  /_double/fail_image {"pattern": regex, "mode": ImagePullBackOff|CrashLoopBackOff|Unschedulable})
  leaves its pods failing with the matching container/pod status and Warning Events, and the
  Deployment reports ProgressDeadlineExceeded once progressDeadlineSeconds * `deadline_scale` pass.
  `crashloop` and `unschedulable` in an image name trigger the other two modes.

Simplifications (documented, deliberate): no watch; no defaulting of pod specs; a rolling update
creates all new pods at once and scales old ReplicaSets to 0 when the new one is fully available.

CLI (molecule, demo):
    python tests/k8s_double/server.py --port 0 --state-file /tmp/k8s.json --kubeconfig /tmp/kubeconfig
It prints one JSON line {"port": ..., "url": ..., "kubeconfig": ..., "pid": ...} when ready (also written
to --info-file), persists objects in the state file (loaded again at start), creates the objects of
--seed (JSON/YAML list) and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import random
import re
import signal
import string
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from k8s_double.patching import (
    PatchError,
    fields_match,
    json_patch,
    labels_match,
    merge_patch,
    parse_label_selector,
    selector_to_string,
    strategic_merge_patch,
)

DEFAULT_TOKEN = "stratum-double-token"
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
SAFE_CHARS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Kind:
    """One resource type the double serves."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
KINDS: list[Kind] = [
    Kind("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",), subresources=("status",)),
    Kind("", "v1", "pods", "Pod", short=("po",), subresources=("status", "log")),
    Kind("", "v1", "events", "Event", short=("ev",)),
    Kind("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    Kind("", "v1", "secrets", "Secret"),
    Kind("apps", "v1", "deployments", "Deployment", short=("deploy",), subresources=("scale", "status")),
    Kind("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), subresources=("scale", "status")),
    Kind(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        subresources=("status",),
    ),
    Kind(
        "autoscaling",
        "v1",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=("hpa",),
        subresources=("status",),
    ),
]
GROUP_VERSIONS = [("apps", ["v1"]), ("autoscaling", ["v2", "v1"])]
FAILURE_MODES = ("ImagePullBackOff", "CrashLoopBackOff", "Unschedulable")


class ApiError(Exception):
    """An error answered as a Kubernetes Status object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def now_iso(ts: float | None = None) -> str:
    return dt.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(SAFE_CHARS[b % len(SAFE_CHARS)] for b in digest[:10])


def strip_hash(template: dict) -> dict:
    """A ReplicaSet template without the pod-template-hash label, to compare with a Deployment's."""
    clean = copy.deepcopy(template or {})
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return clean


def canonical(template: dict) -> str:
    clean = copy.deepcopy(template or {})
    meta = clean.setdefault("metadata", {})
    for key in [k for k, v in meta.items() if v in (None, {}, [])]:
        meta.pop(key)
    if not meta:
        clean.pop("metadata")
    return json.dumps(clean, sort_keys=True)


def percent_or_int(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        amount = total * int(value[:-1]) / 100
        return int(-(-amount // 1)) if round_up else int(amount)
    return int(value or 0)


class Cluster:
    """The double's state and its controllers. Every public method takes the lock."""

    def __init__(
        self,
        token: str | None = DEFAULT_TOKEN,
        ready_delay: float = 0.3,
        deadline_scale: float = 1.0,
        state_file: str | Path | None = None,
    ) -> None:
        self.token = token
        self.logs_dir: Path | None = None
        self.ready_delay = ready_delay
        self.deadline_scale = deadline_scale
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self.objects: dict[str, dict[tuple[str, str], dict]] = {k.plural: {} for k in KINDS}
        self.rv = 1000
        self.born: dict[str, float] = {}  # uid -> creation time (sub-second, for readiness)
        self.progress_since: dict[str, float] = {}  # deployment uid -> start of the current rollout
        self.fail_rules: list[tuple[str, str]] = [
            ("broken", "ImagePullBackOff"),
            ("crashloop", "CrashLoopBackOff"),
            ("unschedulable", "Unschedulable"),
        ]
        self.requests: list[tuple[str, str]] = []
        if self.state_file and self.state_file.exists():
            self._load()
        else:
            for ns in ("default", "kube-system"):
                self._store(self._new_object(self.kind_for("namespaces"), {"metadata": {"name": ns}}, ""))

    # ---------------------------------------------------------------- persistence
    def _load(self) -> None:
        data = json.loads(self.state_file.read_text())
        self.rv = data["rv"]
        for plural, items in data["objects"].items():
            self.objects[plural] = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in items}
        now = time.time()
        self.born = {uid: now - self.ready_delay for uid in data.get("uids", [])}
        self.progress_since = {uid: now for uid in data.get("progressing", [])}
        self.fail_rules = [tuple(r) for r in data.get("fail_rules", self.fail_rules)]

    def _save(self) -> None:
        if not self.state_file:
            return
        data = {
            "rv": self.rv,
            "objects": {p: list(items.values()) for p, items in self.objects.items()},
            "uids": list(self.born),
            "progressing": list(self.progress_since),
            "fail_rules": self.fail_rules,
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state_file)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def kind_for(plural: str, group: str | None = None, version: str | None = None) -> Kind:
        for kind in KINDS:
            if (
                kind.plural == plural
                and (group is None or kind.group == group)
                and (version is None or kind.version == version)
            ):
                return kind
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural})")

    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def _new_object(self, kind: Kind, body: dict, namespace: str) -> dict:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(SAFE_CHARS, k=5))
        if not meta.get("name"):
            raise ApiError(
                422,
                "Invalid",
                f"{kind.kind} is invalid: metadata.name: Required value: name or generateName is required",
            )
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        if kind.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        meta["resourceVersion"] = self._next_rv()
        if "spec" in obj or kind.kind in ("Deployment", "ReplicaSet"):
            meta["generation"] = 1
        self.born[meta["uid"]] = time.time()
        self._default(kind, obj)
        return obj

    @staticmethod
    def _default(kind: Kind, obj: dict) -> None:
        if kind.kind == "Deployment":
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
            )
            obj.setdefault("status", {})
        elif kind.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif kind.kind == "Secret":
            obj.setdefault("type", "Opaque")

    def _validate(self, kind: Kind, obj: dict) -> None:
        name = obj["metadata"]["name"]
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
            raise ApiError(422, "Invalid", f'{kind.kind} "{name}" is invalid: metadata.name: Invalid value: "{name}"')
        if kind.kind in ("Deployment", "ReplicaSet"):
            spec = obj.get("spec") or {}
            selector = spec.get("selector")
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not selector:
                raise ApiError(422, "Invalid", f'{kind.kind}.apps "{name}" is invalid: spec.selector: Required value')
            if not labels_match(labels, parse_label_selector(selector_to_string(selector))):
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind.kind}.apps "{name}" is invalid: spec.template.metadata.labels: Invalid value: '
                    f"`selector` does not match template `labels`",
                )
            containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
            if not containers:
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind.kind}.apps "{name}" is invalid: spec.template.spec.containers: Required value',
                )

    def _store(self, obj: dict) -> None:
        kind = self.kind_for(_plural_of(obj["kind"]))
        self.objects[kind.plural][(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj

    def _ns_exists(self, namespace: str) -> bool:
        return ("", namespace) in self.objects["namespaces"]

    def _not_found(self, kind: Kind, name: str) -> ApiError:
        resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
        return ApiError(
            404, "NotFound", f'{resource} "{name}" not found', {"name": name, "group": kind.group, "kind": kind.plural}
        )

    def _shape(self, kind: Kind, obj: dict) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"], out["kind"] = kind.api_version, kind.kind
        return out

    def _owned_by(self, plural: str, owner_uid: str) -> list[dict]:
        return [
            o
            for o in self.objects[plural].values()
            if any(ref.get("uid") == owner_uid for ref in o["metadata"].get("ownerReferences") or [])
        ]

    def _event(self, involved: dict, reason: str, message: str, etype: str = "Normal", component: str = "") -> None:
        meta = involved["metadata"]
        namespace = meta.get("namespace", "default")
        for ev in self.objects["events"].values():
            if ev["involvedObject"].get("uid") == meta["uid"] and ev["reason"] == reason and ev["message"] == message:
                return
        name = f"{meta['name']}.{uuid.uuid4().hex[:16]}"
        ev = self._new_object(
            self.kind_for("events"),
            {
                "metadata": {"name": name},
                "involvedObject": {
                    "kind": involved["kind"],
                    "namespace": namespace,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "apiVersion": involved.get("apiVersion", "v1"),
                },
                "reason": reason,
                "message": message,
                "type": etype,
                "count": 1,
                "firstTimestamp": now_iso(),
                "lastTimestamp": now_iso(),
                "source": {"component": component or "deployment-controller"},
            },
            namespace,
        )
        self._store(ev)

    def _update_obj(self, plural: str, obj: dict, mutate) -> None:
        """Apply `mutate` to a stored object; bump resourceVersion only if something changed."""
        before = json.dumps(obj, sort_keys=True)
        mutate(obj)
        if json.dumps(obj, sort_keys=True) != before:
            obj["metadata"]["resourceVersion"] = self._next_rv()

    def failure_mode(self, image: str) -> str | None:
        for pattern, mode in self.fail_rules:
            if re.search(pattern, image or ""):
                return mode
        return None

    # ---------------------------------------------------------------- controllers
    def reconcile(self) -> None:
        """Run the garbage collector and the deployment/replicaset/pod controllers until stable."""
        for _dummy in range(3):
            rv = self.rv
            self._collect_garbage()
            for dep in list(self.objects["deployments"].values()):
                self._sync_deployment(dep)
            for rs in list(self.objects["replicasets"].values()):
                self._sync_replicaset(rs)
            for pod in list(self.objects["pods"].values()):
                self._sync_pod(pod)
            for rs in list(self.objects["replicasets"].values()):
                self._replicaset_status(rs)
            for dep in list(self.objects["deployments"].values()):
                self._deployment_status(dep)
            if rv == self.rv:
                break

    def _collect_garbage(self) -> None:
        uids = {o["metadata"]["uid"] for items in self.objects.values() for o in items.values()}
        for plural, items in self.objects.items():
            for key, obj in list(items.items()):
                refs = obj["metadata"].get("ownerReferences") or []
                orphan = bool(refs) and not any(ref.get("uid") in uids for ref in refs)
                if orphan or (plural != "namespaces" and key[0] and not self._ns_exists(key[0])):
                    del items[key]
                    self.rv += 1

    def _sync_deployment(self, dep: dict) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        namespace, uid = meta["namespace"], meta["uid"]
        owned = self._owned_by("replicasets", uid)
        wanted = canonical(spec.get("template"))
        new_rs = next((rs for rs in owned if canonical(strip_hash(rs["spec"]["template"])) == wanted), None)
        max_rev = max((int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in owned), default=0)
        desired = int(spec.get("replicas", 1))
        if spec.get("paused"):
            return
        if new_rs is None:
            pod_hash = template_hash(spec["template"])
            template = copy.deepcopy(spec["template"])
            template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
            selector = copy.deepcopy(spec["selector"])
            selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
            annotations = {
                k: v
                for k, v in (meta.get("annotations") or {}).items()
                if k != REVISION and not k.startswith("kubectl.kubernetes.io/last-applied")
            }
            annotations.update(
                {
                    REVISION: str(max_rev + 1),
                    "deployment.kubernetes.io/desired-replicas": str(desired),
                    "deployment.kubernetes.io/max-replicas": str(desired),
                }
            )
            rs = self._new_object(
                self.kind_for("replicasets"),
                {
                    "metadata": {
                        "name": f"{meta['name']}-{pod_hash}",
                        "labels": dict(template["metadata"]["labels"]),
                        "annotations": annotations,
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "Deployment",
                                "name": meta["name"],
                                "uid": uid,
                                "controller": True,
                                "blockOwnerDeletion": True,
                            }
                        ],
                    },
                    "spec": {"replicas": desired, "selector": selector, "template": template},
                    "status": {"replicas": 0, "observedGeneration": 0},
                },
                namespace,
            )
            self._store(rs)
            self.progress_since[uid] = time.time()
            self._event(dep, "ScalingReplicaSet", f"Scaled up replica set {rs['metadata']['name']} to {desired}")
            new_rs = rs
        else:
            rev = int(new_rs["metadata"].get("annotations", {}).get(REVISION, "0"))
            if rev < max_rev:
                # Rolling back to an old template: the controller reuses the old ReplicaSet under a new revision.
                def renumber(rs: dict) -> None:
                    ann = rs["metadata"].setdefault("annotations", {})
                    history = [h for h in ann.get("deployment.kubernetes.io/revision-history", "").split(",") if h]
                    ann["deployment.kubernetes.io/revision-history"] = ",".join([*history, str(rev)])
                    ann[REVISION] = str(max_rev + 1)

                self._update_obj("replicasets", new_rs, renumber)
                self.progress_since[uid] = time.time()
            if int(new_rs["spec"].get("replicas", 0)) != desired:
                self._update_obj("replicasets", new_rs, lambda rs: rs["spec"].__setitem__("replicas", desired))
                self.progress_since.setdefault(uid, time.time())
                self._event(dep, "ScalingReplicaSet", f"Scaled replica set {new_rs['metadata']['name']} to {desired}")
        new_revision = new_rs["metadata"]["annotations"][REVISION]
        if (meta.get("annotations") or {}).get(REVISION) != new_revision:
            self._update_obj(
                "deployments",
                dep,
                lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(REVISION, new_revision),
            )
        new_available = int((new_rs.get("status") or {}).get("availableReplicas") or 0)
        for rs in owned:
            if rs is new_rs or not int(rs["spec"].get("replicas") or 0):
                continue
            if new_available >= desired:
                self._update_obj("replicasets", rs, lambda r: r["spec"].__setitem__("replicas", 0))
                self._event(dep, "ScalingReplicaSet", f"Scaled down replica set {rs['metadata']['name']} to 0")
        limit = int(spec.get("revisionHistoryLimit", 10))
        old = sorted(
            (rs for rs in owned if rs is not new_rs and not int(rs["spec"].get("replicas") or 0)),
            key=lambda r: int(r["metadata"]["annotations"].get(REVISION, "0")),
        )
        for rs in old[: max(0, len(old) - limit)]:
            del self.objects["replicasets"][(namespace, rs["metadata"]["name"])]
            self.rv += 1

    def _sync_replicaset(self, rs: dict) -> None:
        meta = rs["metadata"]
        pods = self._owned_by("pods", meta["uid"])
        desired = int(rs["spec"].get("replicas") or 0)
        for pod in pods[desired:]:
            del self.objects["pods"][(meta["namespace"], pod["metadata"]["name"])]
            self.rv += 1
        for _dummy in range(desired - len(pods)):
            template = copy.deepcopy(rs["spec"]["template"])
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            pod = self._new_object(
                self.kind_for("pods"),
                {
                    "metadata": {
                        "name": f"{meta['name']}-{suffix}",
                        "labels": (template.get("metadata") or {}).get("labels") or {},
                        "annotations": (template.get("metadata") or {}).get("annotations") or {},
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "ReplicaSet",
                                "name": meta["name"],
                                "uid": meta["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": template.get("spec") or {},
                    "status": {"phase": "Pending"},
                },
                meta["namespace"],
            )
            self._store(pod)

    def _sync_pod(self, pod: dict) -> None:
        if not any(ref.get("kind") == "ReplicaSet" for ref in pod["metadata"].get("ownerReferences") or []):
            return
        containers = (pod.get("spec") or {}).get("containers") or []
        age = time.time() - self.born.get(pod["metadata"]["uid"], 0)
        modes = {c.get("name"): self.failure_mode(c.get("image", "")) for c in containers}
        unschedulable = "Unschedulable" in modes.values()
        started = now_iso(self.born.get(pod["metadata"]["uid"]))
        if unschedulable:
            status = {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    }
                ],
            }
            message = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available."
            self._event(pod, "FailedScheduling", message, "Warning", "default-scheduler")
        else:
            statuses = []
            for c in containers:
                mode, image = modes[c.get("name")], c.get("image", "")
                cs = {
                    "name": c.get("name"),
                    "image": image,
                    "imageID": "",
                    "restartCount": 0,
                    "started": False,
                    "ready": False,
                }
                if mode == "ImagePullBackOff":
                    cs["state"] = {
                        "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
                    }
                    self._event(
                        pod,
                        "Failed",
                        f'Failed to pull image "{image}": rpc error: code = NotFound desc = '
                        f"failed to pull and unpack image: {image}: not found",
                        "Warning",
                        "kubelet",
                    )
                    self._event(pod, "BackOff", f'Back-off pulling image "{image}"', "Warning", "kubelet")
                elif mode == "CrashLoopBackOff":
                    cs["restartCount"] = 3
                    cs["state"] = {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off 40s restarting failed container={c.get('name')} "
                            f"pod={pod['metadata']['name']}",
                        }
                    }
                    cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
                    self._event(pod, "BackOff", "Back-off restarting failed container", "Warning", "kubelet")
                elif age >= self.ready_delay:
                    cs.update(ready=True, started=True, state={"running": {"startedAt": started}})
                else:
                    cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
                statuses.append(cs)
            ready = bool(statuses) and all(cs["ready"] for cs in statuses)
            running = all("running" in cs["state"] for cs in statuses)
            status = {
                "phase": "Running" if running or any(cs["restartCount"] for cs in statuses) else "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Initialized", "status": "True"},
                    {"type": "ContainersReady", "status": str(ready)},
                    {"type": "Ready", "status": str(ready)},
                ],
                "containerStatuses": statuses,
                "hostIP": "10.0.0.10",
                "podIP": "10.244.0." + str(int(pod["metadata"]["uid"][:2], 16)),
                "startTime": started,
            }
            pod["spec"].setdefault("nodeName", "double-node-1")
        if pod.get("status") != status:
            self._update_obj("pods", pod, lambda p: p.__setitem__("status", status))

    @staticmethod
    def _pod_ready(pod: dict) -> bool:
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )

    def _replicaset_status(self, rs: dict) -> None:
        pods = self._owned_by("pods", rs["metadata"]["uid"])
        ready = sum(1 for p in pods if self._pod_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        self._update_obj("replicasets", rs, lambda r: r.__setitem__("status", status))

    def _deployment_status(self, dep: dict) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        owned = self._owned_by("replicasets", meta["uid"])
        revision = (meta.get("annotations") or {}).get(REVISION)
        new_rs = next((rs for rs in owned if rs["metadata"]["annotations"].get(REVISION) == revision), None)
        desired = int(spec.get("replicas", 1))
        total = sum(int(rs["status"].get("replicas") or 0) for rs in owned)
        ready = sum(int(rs["status"].get("readyReplicas") or 0) for rs in owned)
        updated = int(new_rs["status"].get("replicas") or 0) if new_rs else 0
        new_available = int(new_rs["status"].get("availableReplicas") or 0) if new_rs else 0
        max_unavailable = percent_or_int(
            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"), desired, False
        )
        old_pods = total - updated
        complete = updated == desired and new_available == desired and old_pods == 0
        previous = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}
        now = time.time()
        rs_name = new_rs["metadata"]["name"] if new_rs else meta["name"]
        since = self.progress_since.get(meta["uid"], now)
        deadline = float(spec.get("progressDeadlineSeconds", 600)) * self.deadline_scale
        if complete:
            progressing = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
            self.progress_since.pop(meta["uid"], None)
        elif now - since > deadline:
            progressing = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        available = (
            ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if ready >= desired - max_unavailable
            else ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        )

        def condition(ctype: str, values: tuple[str, str, str]) -> dict:
            old = previous.get(ctype) or {}
            same = (old.get("status"), old.get("reason"), old.get("message")) == values
            stamp = old.get("lastTransitionTime") if same else now_iso()
            return {
                "type": ctype,
                "status": values[0],
                "reason": values[1],
                "message": values[2],
                "lastUpdateTime": old.get("lastUpdateTime") if same else stamp,
                "lastTransitionTime": stamp,
            }

        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [condition("Available", available), condition("Progressing", progressing)],
        }
        if total - ready > 0 or desired - ready > 0:
            status["unavailableReplicas"] = max(total - ready, desired - ready)
        for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                status.pop(key)
        if progressing[1] == "ProgressDeadlineExceeded":
            self._event(dep, "ProgressDeadlineExceeded", progressing[2], "Warning")
        self._update_obj("deployments", dep, lambda d: d.__setitem__("status", status))

    # ---------------------------------------------------------------- API verbs
    def list(self, kind: Kind, namespace: str | None, label_selector: str = "", field_selector: str = "") -> dict:
        with self.lock:
            self.reconcile()
            requirements = parse_label_selector(label_selector)
            items = [
                self._shape(kind, o)
                for (ns, _dummy), o in sorted(self.objects[kind.plural].items())
                if (namespace is None or ns == namespace)
                and labels_match(o["metadata"].get("labels"), requirements)
                and fields_match(o, field_selector)
            ]
            return {
                "kind": f"{kind.kind}List",
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self.rv)},
                "items": items,
            }

    def get(self, kind: Kind, namespace: str, name: str) -> dict:
        with self.lock:
            self.reconcile()
            obj = self.objects[kind.plural].get((namespace if kind.namespaced else "", name))
            if obj is None:
                raise self._not_found(kind, name)
            return self._shape(kind, obj)

    def create(self, kind: Kind, namespace: str, body: dict, dry_run: bool = False) -> dict:
        with self.lock:
            if kind.namespaced and not self._ns_exists(namespace):
                raise ApiError(
                    404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
                )
            if kind.namespaced and body.get("metadata", {}).get("namespace") not in (None, namespace):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            saved_rv = self.rv
            obj = self._new_object(kind, body, namespace if kind.namespaced else "")
            self._validate(kind, obj)
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if key in self.objects[kind.plural]:
                self.rv = saved_rv
                resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
                raise ApiError(
                    409, "AlreadyExists", f'{resource} "{key[1]}" already exists', {"name": key[1], "kind": kind.plural}
                )
            if dry_run:
                self.rv = saved_rv
                return self._shape(kind, obj)
            self._store(obj)
            self.reconcile()
            self._save()
            return self._shape(kind, self.objects[kind.plural][key])

    def update(self, kind: Kind, namespace: str, name: str, body: dict, dry_run: bool = False, sub: str = "") -> dict:
        """PUT: replace the object (or its status / scale), with optimistic concurrency."""
        with self.lock:
            self.reconcile()
            key = (namespace if kind.namespaced else "", name)
            current = self.objects[kind.plural].get(key)
            if current is None:
                raise self._not_found(kind, name)
            sent_rv = (body.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    {"name": name, "kind": kind.plural},
                )
            return self._apply_new(kind, key, current, body, dry_run, sub)

    def patch(
        self, kind: Kind, namespace: str, name: str, patch: Any, content_type: str, dry_run: bool = False, sub: str = ""
    ) -> dict:
        with self.lock:
            self.reconcile()
            key = (namespace if kind.namespaced else "", name)
            current = self.objects[kind.plural].get(key)
            if current is None:
                raise self._not_found(kind, name)
            base = self._scale_view(kind, current) if sub == "scale" else self._shape(kind, current)
            try:
                if content_type.startswith("application/json-patch+json"):
                    new = json_patch(base, patch)
                elif content_type.startswith("application/merge-patch+json"):
                    new = merge_patch(base, patch)
                elif content_type.startswith("application/strategic-merge-patch+json"):
                    new = strategic_merge_patch(base, patch)
                else:
                    raise ApiError(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, "
                        f"application/strategic-merge-patch+json (got {content_type})",
                    )
            except PatchError as exc:
                raise ApiError(422, "Invalid", f"the patch could not be applied: {exc}") from exc
            if not isinstance(new, dict):
                raise ApiError(422, "Invalid", "the patched object is not a JSON object")
            return self._apply_new(kind, key, current, new, dry_run, sub)

    def _scale_view(self, kind: Kind, obj: dict) -> dict:
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            },
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": selector_to_string(obj["spec"].get("selector")),
            },
        }

    def _apply_new(self, kind: Kind, key: tuple[str, str], current: dict, new: dict, dry_run: bool, sub: str) -> dict:
        result = copy.deepcopy(current)
        if sub == "scale":
            result["spec"]["replicas"] = int(
                (new.get("spec") or {}).get("replicas", current["spec"].get("replicas", 1))
            )
        elif sub == "status":
            result["status"] = new.get("status")
        else:
            meta = new.get("metadata") or {}
            if meta.get("name", key[1]) != key[1]:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            result = copy.deepcopy(new)
            result["apiVersion"], result["kind"] = kind.api_version, kind.kind
            keep = ("uid", "creationTimestamp", "generation", "namespace", "name", "resourceVersion")
            result["metadata"] = {**meta, **{k: current["metadata"][k] for k in keep if k in current["metadata"]}}
            if "status" in current and kind.kind in (
                "Deployment",
                "ReplicaSet",
                "Pod",
                "HorizontalPodAutoscaler",
                "Namespace",
            ):
                result["status"] = current["status"]
            self._default(kind, result)
        if result.get("spec") != current.get("spec") and "generation" in current["metadata"]:
            result["metadata"]["generation"] = int(current["metadata"]["generation"]) + 1
        self._validate(kind, result)
        if json.dumps(result, sort_keys=True) == json.dumps(current, sort_keys=True):
            out = current
        else:
            if dry_run:
                out = result
            else:
                result["metadata"]["resourceVersion"] = self._next_rv()
                self.objects[kind.plural][key] = result
                if kind.kind == "Deployment" and result.get("spec") != current.get("spec"):
                    self.progress_since[result["metadata"]["uid"]] = time.time()
                self.reconcile()
                self._save()
                out = self.objects[kind.plural][key]
        return self._scale_view(kind, out) if sub == "scale" else self._shape(kind, out)

    def delete(self, kind: Kind, namespace: str, name: str, dry_run: bool = False) -> dict:
        with self.lock:
            key = (namespace if kind.namespaced else "", name)
            current = self.objects[kind.plural].get(key)
            if current is None:
                raise self._not_found(kind, name)
            if not dry_run:
                del self.objects[kind.plural][key]
                self.rv += 1
                self.reconcile()
                self._save()
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "group": kind.group, "kind": kind.plural, "uid": current["metadata"]["uid"]},
            }

    def set_fail_rule(self, pattern: str, mode: str) -> None:
        with self.lock:
            if mode not in FAILURE_MODES:
                raise ApiError(400, "BadRequest", f"mode must be one of {FAILURE_MODES}")
            re.compile(pattern)
            self.fail_rules.insert(0, (pattern, mode))
            self._save()

    def snapshot(self) -> dict:
        with self.lock:
            self.reconcile()
            return {p: [copy.deepcopy(o) for o in items.values()] for p, items in self.objects.items()}


def _plural_of(kind_name: str) -> str:
    for kind in KINDS:
        if kind.kind == kind_name:
            return kind.plural
    raise ApiError(400, "BadRequest", f"unknown kind {kind_name}")


def discovery_resources(group: str, version: str) -> dict:
    resources = []
    for kind in KINDS:
        if kind.group != group or kind.version != version:
            continue
        resources.append(
            {
                "name": kind.plural,
                "singularName": kind.singular,
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": VERBS,
                "shortNames": list(kind.short),
            }
        )
        for sub in kind.subresources:
            entry = {
                "name": f"{kind.plural}/{sub}",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                entry.update(kind="Scale", group="autoscaling", version="v1")
            resources.append(entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_groups() -> dict:
    groups = []
    for name, versions in GROUP_VERSIONS:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


ROUTE = re.compile(
    r"^/(?:api/(?P<core_version>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<namespace>[^/]+)(?=/))?"
    r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


class PodLog(Exception):  # not an error: carries a text answer past the JSON path
    """A pods/log answer (text/plain)."""

    def __init__(self, text: str) -> None:
        super().__init__("pod log")
        self.text = text


def pod_log(logs_dir: Path | None, pod: dict, query: dict) -> str:
    """The log text of a pod (see the module docstring), after sinceSeconds and tailLines."""
    if logs_dir is None:
        return ""
    containers = pod.get("spec", {}).get("containers") or [{}]
    container = query.get("container") or containers[0].get("name", "")
    source = logs_dir / f"{pod['metadata']['name']}.log"
    if not source.exists():
        source = logs_dir / f"{container}.log"
    if not source.exists():
        return ""
    lines = source.read_text(errors="replace").splitlines()
    if query.get("sinceSeconds"):
        cutoff = time.time() - float(query["sinceSeconds"])

        def recent(line: str) -> bool:
            try:
                stamp = json.loads(line)["ts"]
                return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() >= cutoff
            except (ValueError, KeyError, TypeError, AttributeError):
                return True

        lines = [line for line in lines if recent(line)]
    if query.get("tailLines"):
        lines = lines[-int(query["tailLines"]) :]
    return "".join(line + "\n" for line in lines)


class Handler(BaseHTTPRequestHandler):
    """Routes Kubernetes API paths to the Cluster."""

    server: DoubleHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read results, not access logs

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "BadRequest", f"invalid JSON body: {exc}") from exc

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        cluster = self.server.cluster
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path.rstrip("/") or "/"
        try:
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            cluster.requests.append((method, path))
            if path.startswith("/_double/"):
                self._send(200, self._control(method, path, body))
                return
            if cluster.token and self.headers.get("Authorization") != f"Bearer {cluster.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self._send(200 if method != "POST" else 201, self._api(method, path, query, body))
        except PodLog as log:
            data = log.text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except ApiError as exc:
            self._send(exc.code, exc.status())
        except Exception as exc:  # a bug in the double: answer 500 like an apiserver panic would
            self._send(500, ApiError(500, "InternalError", f"test double error: {exc!r}").status())

    def _control(self, method: str, path: str, body: Any) -> Any:
        cluster = self.server.cluster
        if path == "/_double/fail_image" and method == "POST":
            cluster.set_fail_rule(body.get("pattern", ""), body.get("mode", "ImagePullBackOff"))
            return {"fail_rules": cluster.fail_rules}
        if path == "/_double/logs" and method == "POST":
            cluster.logs_dir = Path(body["dir"]) if body.get("dir") else None
            return {"dir": str(cluster.logs_dir or "")}
        if path == "/_double/state":
            return cluster.snapshot()
        if path == "/_double/requests":
            return {"requests": cluster.requests}
        raise ApiError(404, "NotFound", f"no control endpoint {method} {path}")

    def _api(self, method: str, path: str, query: dict, body: Any) -> Any:
        cluster = self.server.cluster
        if path == "/version":
            return {"major": "1", "minor": "30", "gitVersion": "v1.30.0-stratum-double", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return api_groups()
        if path == "/api/v1":
            return discovery_resources("", "v1")
        for name, versions in GROUP_VERSIONS:
            if path == f"/apis/{name}":
                return next(g for g in api_groups()["groups"] if g["name"] == name)
            for version in versions:
                if path == f"/apis/{name}/{version}":
                    return discovery_resources(name, version)
        if query.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by the test double")
        match = ROUTE.match(path)
        if not match:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        parts = match.groupdict()
        group, version = (parts["group"], parts["version"]) if parts["group"] else ("", parts["core_version"])
        kind = cluster.kind_for(parts["plural"], group, version)
        namespace, name, sub = parts["namespace"], parts["name"], parts["sub"] or ""
        if kind.plural == "namespaces" and name is None and namespace is None:
            pass
        if kind.namespaced and name is not None and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub and sub not in kind.subresources:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({kind.plural}/{sub})")
        dry_run = query.get("dryRun") == "All"
        ns = namespace or ""
        if method == "GET":
            if name is None:
                return cluster.list(
                    kind,
                    namespace if kind.namespaced else None,
                    query.get("labelSelector", ""),
                    query.get("fieldSelector", ""),
                )
            obj = cluster.get(kind, ns, name)
            if sub == "log":
                raise PodLog(pod_log(cluster.logs_dir, obj, query))
            return cluster._scale_view(kind, obj) if sub == "scale" else obj
        if method == "POST" and name is None:
            return cluster.create(kind, ns, body or {}, dry_run)
        if method == "PUT" and name:
            return cluster.update(kind, ns, name, body or {}, dry_run, sub)
        if method == "PATCH" and name:
            return cluster.patch(kind, ns, name, body, self.headers.get("Content-Type", ""), dry_run, sub)
        if method == "DELETE" and name:
            return cluster.delete(kind, ns, name, dry_run)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cluster: Cluster) -> None:
        super().__init__(address, Handler)
        self.cluster = cluster


def kubeconfig(url: str, token: str | None, namespace: str = "default") -> dict:
    """A kubeconfig dict pointing at the double (plain http, bearer token)."""
    user = {"token": token} if token else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stratum-double", "cluster": {"server": url}}],
        "users": [{"name": "stratum-double", "user": user}],
        "contexts": [
            {
                "name": "stratum-double",
                "context": {"cluster": "stratum-double", "user": "stratum-double", "namespace": namespace},
            }
        ],
        "current-context": "stratum-double",
    }


class K8sDouble:
    """Run the double in a background thread: `with K8sDouble() as k8s: k8s.url, k8s.write_kubeconfig(path)`."""

    def __init__(
        self,
        port: int = 0,
        token: str | None = DEFAULT_TOKEN,
        ready_delay: float = 0.3,
        deadline_scale: float = 1.0,
        state_file: str | Path | None = None,
    ) -> None:
        self.cluster = Cluster(
            token=token, ready_delay=ready_delay, deadline_scale=deadline_scale, state_file=state_file
        )
        self.httpd = DoubleHTTPServer(("127.0.0.1", port), self.cluster)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self._thread: threading.Thread | None = None

    def start(self) -> K8sDouble:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> K8sDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        path = Path(path)
        path.write_text(json.dumps(kubeconfig(self.url, self.token, namespace), indent=2))
        return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Kubernetes API TEST DOUBLE (see module docstring)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", help="JSON file the objects persist in (loaded at start)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig pointing at the double here")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--ready-delay", type=float, default=0.3, help="seconds until a new pod is ready")
    parser.add_argument("--deadline-scale", type=float, default=1.0, help="multiplier for progressDeadlineSeconds")
    parser.add_argument("--seed", help="JSON or YAML file with a list of objects to create at start")
    parser.add_argument("--info-file", help="write the ready line (port, url, kubeconfig, pid) here too")
    parser.add_argument("--logs-dir", help="pods/log answers from <dir>/<pod>.log or <dir>/<container>.log")
    args = parser.parse_args()
    double = K8sDouble(args.port, args.token, args.ready_delay, args.deadline_scale, args.state_file)
    double.cluster.logs_dir = Path(args.logs_dir) if args.logs_dir else None
    if args.seed:
        seed_objects(double.cluster, Path(args.seed))
    info = {"port": double.port, "url": double.url}
    if args.kubeconfig:
        info["kubeconfig"] = str(double.write_kubeconfig(args.kubeconfig))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    double.start()
    info["pid"] = os.getpid()
    if args.info_file:
        tmp = Path(args.info_file).with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(args.info_file)
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    stop.wait()
    double.stop()


def seed_objects(cluster: Cluster, path: Path) -> None:
    """Create the objects listed in a JSON/YAML file (skipping ones that already exist)."""
    text = path.read_text()
    try:
        docs = json.loads(text)
    except json.JSONDecodeError:
        import yaml  # only the CLI needs YAML seeds

        docs = list(yaml.safe_load_all(text))
    for doc in docs if isinstance(docs, list) else [docs]:
        if not doc:
            continue
        api_version = doc.get("apiVersion", "v1")
        group, _dummy, version = api_version.rpartition("/")
        kind = cluster.kind_for(_plural_of(doc["kind"]), group, version)
        try:
            cluster.create(kind, doc.get("metadata", {}).get("namespace", "default"), doc)
        except ApiError as exc:
            if exc.code != 409:
                raise


if __name__ == "__main__":
    main()
