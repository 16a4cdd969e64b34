"""Patch semantics of the Kubernetes API, for the test double (tests/k8s_double/server.py).

TEST DOUBLE support code: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the subset of
strategic merge patch the Stratum platform layer and kubectl rely on: lists of containers, env,
ports, volumes... are merged by their merge key (`name`, `containerPort`, `mountPath`) instead of
being replaced; `$patch: delete` / `$patch: replace` directives; `null` deletes a key.
"""

from __future__ import annotations

import copy
from typing import Any

# patchMergeKey of the list fields the double knows (from the Kubernetes API's Go struct tags).
STRATEGIC_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "ports": "containerPort",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "ownerReferences": "uid",
}


class PatchError(ValueError):
    """A patch that cannot be applied (bad path, failed test op, wrong shape)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge patch: like merge patch, but known lists merge item by item on their merge key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in (value or [])]
            continue
        if key.startswith("$"):
            # $setElementOrder/... and $retainKeys only affect ordering/pruning details the double ignores.
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge_patch(result.get(key), value)
        elif isinstance(value, list) and key in STRATEGIC_MERGE_KEYS and all(isinstance(i, dict) for i in value):
            result[key] = merge_list_by_key(result.get(key) or [], value, STRATEGIC_MERGE_KEYS[key])
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_list_by_key(current: list[dict], patch_items: list[dict], merge_key: str) -> list[dict]:
    """Merge a list of objects on `merge_key`: matching items are patched, new ones appended."""
    if any(item.get("$patch") == "replace" for item in patch_items):
        return [copy.deepcopy(i) for i in patch_items if i.get("$patch") != "replace"]
    result = copy.deepcopy(current)
    for item in patch_items:
        key_value = item.get(merge_key)
        index = next((n for n, existing in enumerate(result) if existing.get(merge_key) == key_value), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        clean = {k: v for k, v in item.items() if k != "$patch"}
        if index is None:
            result.append(strategic_merge_patch({}, clean))
        else:
            result[index] = strategic_merge_patch(result[index], clean)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError) as exc:
                raise PatchError(f"path element {part!r} is not an index of the list") from exc
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise PatchError(f"path element {part!r} does not exist")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts)
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, IndexError, ValueError) as exc:
        raise PatchError(f"path {path!r} does not exist") from exc


def _remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, _pointer(path))
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, IndexError, ValueError) as exc:
        raise PatchError(f"cannot remove {path!r}: it does not exist") from exc


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts)
    if isinstance(parent, list):
        if last == "-":
            parent.append(copy.deepcopy(value))
        else:
            index = int(last)
            if replace:
                parent[index] = copy.deepcopy(value)
            else:
                parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"cannot replace {path!r}: it does not exist")
        parent[last] = copy.deepcopy(value)
    else:
        raise PatchError(f"cannot add at {path!r}")
    return doc


def json_patch(target: Any, operations: list[dict]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif kind == "move":
            value = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, _get(doc, op["from"]))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"test operation failed at {path!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


def parse_label_selector(selector: str) -> list[tuple[str, str, list[str]]]:
    """Parse a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) into (key, op, values)."""
    terms: list[str] = []
    depth, current = 0, ""
    for char in selector or "":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    requirements = []
    for raw in terms:
        term = raw.strip()
        if not term:
            continue
        if " notin " in term or " in " in term:
            op = "notin" if " notin " in term else "in"
            key, values = term.split(f" {op} ", 1)
            values = values.strip()
            if not (values.startswith("(") and values.endswith(")")):
                raise ValueError(f"invalid label selector term {term!r}")
            requirements.append((key.strip(), op, [v.strip() for v in values[1:-1].split(",") if v.strip()]))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            requirements.append((key.strip(), "!=", [value.strip()]))
        elif "==" in term:
            key, value = term.split("==", 1)
            requirements.append((key.strip(), "=", [value.strip()]))
        elif "=" in term:
            key, value = term.split("=", 1)
            requirements.append((key.strip(), "=", [value.strip()]))
        elif term.startswith("!"):
            requirements.append((term[1:].strip(), "!exists", []))
        else:
            requirements.append((term, "exists", []))
    return requirements


def labels_match(labels: dict[str, str] | None, requirements: list[tuple[str, str, list[str]]]) -> bool:
    """Whether a label map satisfies every parsed selector requirement."""
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        if op == "=" and labels.get(key) != values[0]:
            return False
        if op == "!=" and present and labels.get(key) == values[0]:
            return False
        if op == "in" and labels.get(key) not in values:
            return False
        if op == "notin" and present and labels.get(key) in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def field_value(obj: dict, dotted: str) -> str:
    """The string value of a dotted field path (`metadata.name`, `involvedObject.kind`)."""
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def fields_match(obj: dict, selector: str) -> bool:
    """Whether an object satisfies a field selector (`a.b=c,d.e!=f`)."""
    for raw in (selector or "").split(","):
        term = raw.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if field_value(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = term.replace("==", "=").split("=", 1)
            if field_value(obj, key.strip()) != value.strip():
                return False
    return True


def selector_to_string(selector: dict | None) -> str:
    """A LabelSelector object (matchLabels + matchExpressions) as a selector string."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        if op == "In":
            terms.append(f"{expr['key']} in ({','.join(expr.get('values') or [])})")
        elif op == "NotIn":
            terms.append(f"{expr['key']} notin ({','.join(expr.get('values') or [])})")
        elif op == "Exists":
            terms.append(expr["key"])
        elif op == "DoesNotExist":
            terms.append(f"!{expr['key']}")
    return ",".join(terms)
