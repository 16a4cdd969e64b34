# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Revertible mitigations: what a runbook changed, how to put it back, and whether a change may go ahead.

A *record* is kept per (runbook, service) on the platform that runs the service (a Deployment annotation, ECS
service tags, a JSON file beside the Compose project). It holds the run that last changed something and, for every
key that run changed, the value before and the value it set::

    {"v": 1, "runbook": "incident_rate_limit", "service": "api", "environment": "production",
     "run": "k3...", "at": "2026-05-01T03:12:09+00:00", "by": "alice",
     "changes": [{"kind": "env", "key": "META_RATE_LIMIT_BUFFER", "from": null, "to": "0.2"},
                 {"kind": "flag", "key": "pause:low_priority_sync", "from": null, "to": "true",
                  "expires": "2026-05-01T04:12:09+00:00"}],
     "reverted": null}

Kinds: ``env`` (an environment variable; ``from``/``to`` are strings, null = absent), ``replicas`` (desired count),
``hpa_min`` / ``hpa_max`` (a HorizontalPodAutoscaler's bounds), ``flag`` (a Redis key set with a TTL; its record
lives with the service the runbook is about).

A revert puts back what the runbook's latest changing run changed - only keys still holding the value that run set;
a key someone changed since is left alone and reported - and marks the records as reverted, so a second revert
changes nothing.

Everything here takes plain dicts, so it is unit-tested without Ansible (tests/unit/mitigation/).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

VERSION = 1
KINDS = ("env", "replicas", "hpa_min", "hpa_max", "flag")
# Names whose values are credentials: never copied into a record (annotations, tags and files are not secret stores).
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|_DSN$|_URL$", re.I)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Kubernetes: one annotation per runbook on the service's Deployment.
ANNOTATION_PREFIX = "stratum.ops/mitigation."
# ECS: tag values hold at most 256 characters from [A-Za-z0-9 +-=._:/@]; the record is zlib-compressed, base64-encoded
# (whose alphabet is inside that set) and split over numbered tags <prefix><runbook>/<n>.
TAG_PREFIX = "stratum.ops/mitigation."
TAG_VALUE_MAX = 256
TAG_CHUNKS_MAX = 8
# A flag still carrying the expiry our run gave it (give or take this many seconds) is the one our run set.
FLAG_EXPIRY_SLACK = 90
RUNBOOK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,50}$")


class MitigationError(Exception):
    """Bad input, with a message that names what is wrong."""


# ---------------------------------------------------------------------------------------------------- helpers


def _iso(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    return str(value)


def parse_time(value: Any, what: str = "time") -> datetime.datetime:
    """An aware datetime from an ISO 8601 string or a datetime (naive means UTC)."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise MitigationError(f"{what} must be an ISO 8601 time (got {value!r})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def now_iso(now: Any = None) -> str:
    if now in (None, ""):
        return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return _iso(parse_time(now, "now"))


def check_runbook(runbook: Any) -> str:
    name = str(runbook or "")
    if not RUNBOOK_NAME.match(name):
        raise MitigationError(f"runbook must be a role name such as incident_rate_limit (got {runbook!r})")
    return name


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MitigationError(f"{what} must be a whole number (got {value!r})")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise MitigationError(f"{what} must be a whole number (got {value!r})") from None
    return number


def _env_value(value: Any) -> str | None:
    """Environment values compare as strings; None means the variable is absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(kind: str, value: Any) -> Any:
    if kind == "env":
        return _env_value(value)
    if kind == "flag":
        return None if value is None else str(value)
    return _int_or_none(value, kind)


def _same(kind: str, left: Any, right: Any) -> bool:
    return _value(kind, left) == _value(kind, right)


def show(value: Any) -> str:
    """A recorded value as people read it (absent for None)."""
    return "absent" if value is None else str(value)


# ---------------------------------------------------------------------------------------------------- records


def check_change(change: Any) -> dict[str, Any]:
    """One change entry, normalised; MitigationError naming what is wrong."""
    if not isinstance(change, Mapping):
        raise MitigationError(f"a change must be a dict with kind, key, from and to (got {change!r})")
    kind = str(change.get("kind") or "")
    if kind not in KINDS:
        raise MitigationError(f"change kind must be one of {', '.join(KINDS)} (got {kind!r})")
    key = str(change.get("key") or "")
    if not key:
        raise MitigationError(f"a {kind} change needs its key (got {change!r})")
    if kind == "env":
        if not ENV_NAME.match(key):
            raise MitigationError(f"{key!r} is not an environment variable name")
        if SECRET_NAME.search(key):
            raise MitigationError(
                f"{key} looks like a credential: its values are never written into a mitigation record "
                "(use the secret_rotation runbook for secrets)"
            )
    entry = {"kind": kind, "key": key, "from": _value(kind, change.get("from")), "to": _value(kind, change.get("to"))}
    if change.get("from_ref"):
        entry["from_ref"] = str(change["from_ref"])
    if kind == "flag" and change.get("expires"):
        entry["expires"] = _iso(parse_time(change["expires"], f"expiry of flag {key}"))
    return entry


def flag_change(key: str, value: Any, flag_result: Mapping[str, Any] | None, at: Any = None) -> list[dict[str, Any]]:
    """The change a stratum.ops.redis_flag run made: the flag was absent and now holds value until at + ttl.

    Nothing when the flag was already set (redis_flag leaves an existing key alone).
    """
    result = flag_result or {}
    if not result.get("changed") or result.get("existed"):
        return []
    change: dict[str, Any] = {"kind": "flag", "key": str(key), "from": None, "to": str(value)}
    ttl = _int_or_none(result.get("ttl"), "ttl")
    if ttl is not None and ttl > 0:
        moment = parse_time(at, "at") if at not in (None, "") else datetime.datetime.now(datetime.timezone.utc)
        change["expires"] = _iso(moment + datetime.timedelta(seconds=ttl))
    return [change]


def env_changes(
    before: Mapping[str, Any] | None, wanted: Mapping[str, Any], changed_keys: Any = None, refs: Any = None
) -> list[dict[str, Any]]:
    """Changes of a set_env: each wanted key whose value differs from before (only changed_keys when given)."""
    before = before or {}
    refs = set(refs or [])
    keys = None if changed_keys is None else {str(k) for k in changed_keys}
    out = []
    for key, value in (wanted or {}).items():
        if keys is not None and str(key) not in keys:
            continue
        old, new = _env_value(before.get(key)), _env_value(value)
        if old == new and key not in refs:
            continue
        change = {"kind": "env", "key": str(key), "from": old, "to": new}
        if key in refs:
            change["from_ref"] = "reference"
        out.append(check_change(change))
    return out


def scale_changes(
    before: Mapping[str, Any] | None,
    replicas: Any = None,
    min_replicas: Any = None,
    max_replicas: Any = None,
) -> list[dict[str, Any]]:
    """Changes of a scale, from a recall result (replicas, hpa) and the sizes asked for (None: untouched)."""
    before = before or {}
    hpa = before.get("hpa") or {}
    out = []
    for kind, key, old, new in (
        ("replicas", "replicas", before.get("replicas"), replicas),
        ("hpa_min", "minReplicas", hpa.get("min"), min_replicas),
        ("hpa_max", "maxReplicas", hpa.get("max"), max_replicas),
    ):
        if new is None or new == "":
            continue
        if kind != "replicas" and not hpa:
            continue
        if not _same(kind, old, new):
            out.append(check_change({"kind": kind, "key": key, "from": old, "to": new}))
    return out


def new_record(
    existing: Mapping[str, Any] | None,
    changes: Any,
    runbook: str,
    service: str,
    run: str,
    at: Any = None,
    by: str = "",
    environment: str = "",
) -> dict[str, Any]:
    """The record after this run's changes on this service.

    A later step of the same run adds to that run's record (a key changed twice keeps its first previous value);
    another run starts a new record. Without changes the existing record is returned as it is (nothing to write).
    """
    runbook = check_runbook(runbook)
    if not run:
        raise MitigationError("a mitigation record needs the run's id")
    entries = [check_change(c) for c in (changes or [])]
    entries = [c for c in entries if not _same(c["kind"], c["from"], c["to"]) or c.get("from_ref")]
    existing = dict(existing or {})
    if not entries:
        return existing
    same_run = existing.get("run") == run and not existing.get("reverted")
    merged: list[dict[str, Any]] = [dict(c) for c in existing.get("changes") or []] if same_run else []
    for change in entries:
        found = next((m for m in merged if m["kind"] == change["kind"] and m["key"] == change["key"]), None)
        if found is None:
            merged.append(change)
        else:
            found["to"] = change["to"]
            if "expires" in change:
                found["expires"] = change["expires"]
    merged = [m for m in merged if not _same(m["kind"], m["from"], m["to"]) or m.get("from_ref")]
    return {
        "v": VERSION,
        "runbook": runbook,
        "service": str(service),
        "environment": str(environment or existing.get("environment") or ""),
        "run": str(run),
        "at": existing.get("at") if same_run and existing.get("at") else now_iso(at),
        "by": str(by or ""),
        "changes": merged,
        "reverted": None,
    }


def describe_change(change: Mapping[str, Any], service: str = "") -> str:
    where = f"{service}: " if service else ""
    kind, key = change.get("kind"), change.get("key")
    label = {"env": key, "replicas": "replicas", "hpa_min": "HPA minReplicas", "hpa_max": "HPA maxReplicas"}.get(
        kind, f"redis {key}"
    )
    return f"{where}{label} {show(change.get('from'))} -> {show(change.get('to'))}"


# ---------------------------------------------------------------------------------------------------- storage


def annotation_key(runbook: str) -> str:
    return ANNOTATION_PREFIX + check_runbook(runbook)


def _loads_record(text: Any, where: str) -> dict[str, Any]:
    if text in (None, ""):
        return {}
    try:
        data = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        raise MitigationError(f"the mitigation record in {where} is not JSON; remove it or fix it by hand") from None
    if not isinstance(data, Mapping):
        raise MitigationError(f"the mitigation record in {where} is not a JSON object")
    return dict(data)


def dumps_record(record: Mapping[str, Any]) -> str:
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"))


def encode_tags(record: Mapping[str, Any], runbook: str, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """ECS tags holding the record: {'set': {key: chunk}, 'remove': {stale chunk key: its value}, 'tags': all}."""
    prefix = TAG_PREFIX + check_runbook(runbook) + "/"
    packed = base64.b64encode(zlib.compress(dumps_record(record).encode("utf-8"), 9)).decode("ascii")
    chunks = [packed[i : i + TAG_VALUE_MAX] for i in range(0, len(packed), TAG_VALUE_MAX)] or [""]
    if len(chunks) > TAG_CHUNKS_MAX:
        raise MitigationError(
            f"the mitigation record of {runbook} needs {len(chunks)} ECS tags of {TAG_VALUE_MAX} characters, more than "
            f"the {TAG_CHUNKS_MAX} this collection uses per runbook; revert or remove older records first"
        )
    wanted = {f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}
    stale = {k: v for k, v in sorted((current or {}).items()) if k.startswith(prefix) and k not in wanted}
    changed = {k: v for k, v in wanted.items() if (current or {}).get(k) != v}
    return {"set": changed, "remove": stale, "tags": wanted}


def decode_tags(tags: Mapping[str, Any] | None, runbook: str) -> dict[str, Any]:
    prefix = TAG_PREFIX + check_runbook(runbook) + "/"
    parts = {}
    for key, value in (tags or {}).items():
        if key.startswith(prefix) and key[len(prefix) :].isdigit():
            parts[int(key[len(prefix) :])] = str(value)
    if not parts:
        return {}
    ordered = [parts.get(i) for i in range(len(parts))]
    if None in ordered:
        raise MitigationError(f"the ECS tags {prefix}0..{max(parts)} of the mitigation record are incomplete")
    try:
        text = zlib.decompress(base64.b64decode("".join(ordered))).decode("utf-8")
    except (ValueError, zlib.error):
        raise MitigationError(f"the ECS tags {prefix}* do not hold a readable mitigation record") from None
    return _loads_record(text, f"ECS tags {prefix}*")


def encode_compose(
    record: Mapping[str, Any], service: str, existing: Any = None, where: str = "the mitigation file"
) -> str:
    """The Compose mitigation file's text with this service's record replaced (other services' records kept)."""
    data = _loads_record(existing, where) if existing not in (None, "") else {}
    data[str(service)] = dict(record)
    return json.dumps(data, sort_keys=True, indent=2) + "\n"


def encode(
    record: Mapping[str, Any], platform: str, runbook: str, service: str = "", existing: Any = None
) -> dict[str, Any]:
    """What the platform's remember operation writes."""
    if not isinstance(record, Mapping) or not record.get("run"):
        raise MitigationError(
            "remember needs platform_record, a mitigation record (from stratum.ops.mitigation_record)"
        )
    if platform == "kubernetes":
        return {"annotations": {annotation_key(runbook): dumps_record(record)}}
    if platform == "ecs":
        return encode_tags(record, runbook, existing or {})
    if platform == "compose":
        return {"content": encode_compose(record, service, existing)}
    raise MitigationError(f"platform must be kubernetes, ecs or compose (got {platform!r})")


# ---------------------------------------------------------------------------------------------------- reading


def _wanted_names(names: Any, record: Mapping[str, Any]) -> list[str]:
    wanted = [str(n) for n in (names or [])]
    wanted += [c["key"] for c in record.get("changes") or [] if c.get("kind") == "env"]
    for name in wanted:
        if not ENV_NAME.match(name):
            raise MitigationError(f"{name!r} is not an environment variable name")
    return sorted(set(wanted))


def _dotenv_raw(text: str) -> dict[str, str]:
    """A Compose env file's variables as the platform's set_env writes them (NAME=value, last one wins)."""
    values: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def read_current(
    platform: str,
    runbook: str,
    names: Any = None,
    deployment: Mapping[str, Any] | None = None,
    container: str = "",
    hpa: Mapping[str, Any] | None = None,
    definition: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    env_text: str = "",
    record_text: Any = None,
    service: str = "",
    replicas: Any = None,
) -> dict[str, Any]:
    """The recall result from what the platform's tasks read: record, replicas, hpa, env (asked names only)."""
    runbook = check_runbook(runbook)
    env_all: dict[str, Any] = {}
    refs: list[str] = []
    hpa_out = None
    if platform == "kubernetes":
        dep = deployment or {}
        meta = dep.get("metadata") or {}
        key = annotation_key(runbook)
        record = _loads_record((meta.get("annotations") or {}).get(key), f"annotation {key}")
        containers = ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        spec = next((c for c in containers if c.get("name") == container), None)
        if spec is None:
            raise MitigationError(
                f"Deployment {meta.get('name', '?')} has no container {container!r} "
                f"(containers: {', '.join(c.get('name', '?') for c in containers) or 'none'})"
            )
        for entry in spec.get("env") or []:
            if "value" in entry or "valueFrom" not in entry:
                env_all[entry["name"]] = entry.get("value", "")
            else:
                env_all[entry["name"]] = None
                refs.append(entry["name"])
        count = (dep.get("spec") or {}).get("replicas")
        current_replicas = 1 if count is None else int(count)
        if hpa:
            hspec = hpa.get("spec") or {}
            hpa_out = {
                "name": (hpa.get("metadata") or {}).get("name", ""),
                "min": int(hspec.get("minReplicas", 1)),
                "max": int(hspec["maxReplicas"]) if hspec.get("maxReplicas") is not None else None,
            }
    elif platform == "ecs":
        read = definition or {}
        record = decode_tags(tags, runbook)
        containers = (read.get("task_definition") or {}).get("containerDefinitions") or []
        spec = next((c for c in containers if c.get("name") == container), None)
        if spec is None:
            raise MitigationError(
                f"the task definition has no container {container!r} "
                f"(containers: {', '.join(c.get('name', '?') for c in containers) or 'none'})"
            )
        env_all = {e["name"]: e.get("value", "") for e in spec.get("environment") or []}
        for secret in spec.get("secrets") or []:
            refs.append(secret["name"])
        current_replicas = int((read.get("service") or {}).get("desired_count") or 0)
    elif platform == "compose":
        record = _loads_record(record_text, "the Compose mitigation file").get(str(service)) or {}
        env_all = _dotenv_raw(env_text)
        current_replicas = _int_or_none(replicas, "replicas") or 0
    else:
        raise MitigationError(f"platform must be kubernetes, ecs or compose (got {platform!r})")
    wanted = _wanted_names(names, record)
    return {
        "record": record,
        "replicas": current_replicas,
        "hpa": hpa_out,
        "env": {name: (None if name in refs else _env_value(env_all.get(name))) for name in wanted},
        "env_refs": sorted(name for name in wanted if name in refs),
    }


# ---------------------------------------------------------------------------------------------------- checks


def scale_check(
    current: Any,
    wanted: Any,
    direction: str = "any",
    floor: Any = 1,
    hpa: Mapping[str, Any] | None = None,
    service: str = "",
    floor_var: str = "min_replicas",
    min_replicas: Any = None,
    max_replicas: Any = None,
) -> dict[str, Any]:
    """May the service go from current to wanted replicas? Direction 'up' never lowers; nothing goes below the floor
    (0 only when the floor is set to 0 by name); with an HPA the size must lie within its bounds (the bounds this run
    sets, when it sets them)."""
    now = _int_or_none(current, "current replicas")
    want = _int_or_none(wanted, "replicas")
    low = _int_or_none(floor, floor_var)
    if want is None or want < 0:
        raise MitigationError(f"replicas must be a whole number >= 0 (got {wanted!r})")
    if low is None or low < 0:
        raise MitigationError(f"{floor_var} must be a whole number >= 0 (got {floor!r})")
    if direction not in ("up", "down", "any"):
        raise MitigationError(f"direction must be up, down or any (got {direction!r})")
    now = 0 if now is None else now
    name = service or "the service"
    bounds = None
    if hpa:
        bounds = {
            "name": hpa.get("name", ""),
            "min": _int_or_none(min_replicas, "HPA minReplicas") if min_replicas is not None else hpa.get("min"),
            "max": _int_or_none(max_replicas, "HPA maxReplicas") if max_replicas is not None else hpa.get("max"),
        }
    moving = "up" if want > now else ("down" if want < now else "none")
    result = {
        "allowed": True,
        "current": now,
        "wanted": want,
        "direction": moving,
        "floor": low,
        "hpa": bounds,
        "reason": "",
    }

    def refuse(why: str) -> dict[str, Any]:
        result.update(allowed=False, reason=f"{why}; nothing was changed")
        return result

    if direction == "up" and want < now:
        return refuse(
            f"scaling {name} up to {want} would lower it from {now} replicas (a scale-up never shrinks): "
            f"ask for at least {now}, or scale down with the scaling runbook"
        )
    if (direction == "down" and want < low) or (direction != "down" and want < now and want < low):
        return refuse(
            f"{name} would go to {want} replicas, below the floor of {low} ({floor_var}); "
            + ("scaling to 0 needs " + floor_var + ": 0 by name" if want == 0 else f"set {floor_var} lower by name")
        )
    if bounds and bounds["max"] is not None and want > bounds["max"]:
        return refuse(
            f"{name} would go to {want} replicas but its HorizontalPodAutoscaler {bounds['name']} allows at most "
            f"{bounds['max']} (it would scale it back): raise maxReplicas first (scaling runbook, scaling_max_replicas)"
        )
    if bounds and bounds["min"] is not None and want < bounds["min"]:
        return refuse(
            f"{name} would go to {want} replicas but its HorizontalPodAutoscaler {bounds['name']} keeps at least "
            f"{bounds['min']} (it would scale it back): lower minReplicas first (scaling runbook, scaling_min_replicas)"
        )
    if moving == "none":
        result["reason"] = f"{name} already runs {now} replicas"
    else:
        result["reason"] = f"{name}: {now} -> {want} replicas"
    return result


def pool_check(
    pool_size: Any,
    replicas: Any,
    max_connections: Any,
    superuser_reserved: Any = 0,
    reserved: Any = 0,
    hpa: Mapping[str, Any] | None = None,
    service: str = "",
    variable: str = "DATABASE_POOL_SIZE",
) -> dict[str, Any]:
    """Does pool_size x replicas fit max_connections minus the reserved slots? With an HPA, its maxReplicas counts
    when higher (the pods it may add open their pools too)."""
    size = _int_or_none(pool_size, variable)
    count = _int_or_none(replicas, "replicas") or 0
    limit = _int_or_none(max_connections, "max_connections")
    su_reserved = _int_or_none(superuser_reserved, "superuser_reserved_connections") or 0
    other_reserved = _int_or_none(reserved, "reserved_connections") or 0
    if size is None or size < 1:
        raise MitigationError(f"{variable} must be a whole number >= 1 (got {pool_size!r})")
    if limit is None:
        raise MitigationError("max_connections is unknown: read it from PostgreSQL (stratum.ops.pg_activity_info)")
    why = f"{count} replicas of {service or 'the service'}"
    if hpa and hpa.get("max") is not None and int(hpa["max"]) > count:
        count = int(hpa["max"])
        why = f"{count} replicas of {service or 'the service'} (its HorizontalPodAutoscaler's maxReplicas)"
    available = limit - su_reserved - other_reserved
    needed = size * count
    reserved_text = f"max_connections {limit} - superuser_reserved_connections {su_reserved}" + (
        f" - reserved_connections {other_reserved}" if other_reserved else ""
    )
    result = {
        "allowed": needed <= available,
        "pool_size": size,
        "replicas": count,
        "needed": needed,
        "available": available,
        "max_connections": limit,
        "superuser_reserved_connections": su_reserved,
        "reserved_connections": other_reserved,
        "largest_pool": available // count if count else None,
    }
    if result["allowed"]:
        result["reason"] = f"{variable}={size} x {why} = {needed} connections fit {available} ({reserved_text})"
    else:
        largest = f"at most {available // count}" if count and available > 0 else "none fits"
        result["reason"] = (
            f"{variable}={size} x {why} = {needed} connections, more than the {available} PostgreSQL allows "
            f"({reserved_text}); nothing was changed: ask for a pool size of {largest}, or raise max_connections"
        )
    return result


# ---------------------------------------------------------------------------------------------------- revert


def _current(kind: str, key: str, recalled: Mapping[str, Any]) -> Any:
    if kind == "env":
        return (recalled.get("env") or {}).get(key)
    if kind == "replicas":
        return recalled.get("replicas")
    hpa = recalled.get("hpa") or {}
    if not hpa:
        return None
    return hpa.get("min") if kind == "hpa_min" else hpa.get("max")


def _flag_is_ours(change: Mapping[str, Any], read: Mapping[str, Any], now: datetime.datetime) -> bool:
    if not read.get("value_matches"):
        return False
    ttl = _int_or_none(read.get("ttl"), "ttl")
    expires = change.get("expires")
    if not expires:
        return ttl in (None, -1)
    if ttl is None or ttl < 0:
        return False
    left = (parse_time(expires, "flag expiry") - now).total_seconds()
    return abs(left - ttl) <= FLAG_EXPIRY_SLACK


def revert_plan(
    recalled: Mapping[str, Any],
    runbook: str,
    run: str = "",
    at: Any = None,
    by: str = "",
    flags: Mapping[str, Any] | None = None,
    now: Any = None,
) -> dict[str, Any]:
    """What a revert of the runbook's latest changing run does.

    recalled: service -> the platform's recall result (record, replicas, hpa, env).
    flags: flag key -> a read of it (stratum.ops.redis_flag in check mode: existed, value_matches, ttl); flags of the
    run that have not been read are listed in flags_unread (read them, then plan again).
    """
    runbook = check_runbook(runbook)
    moment = parse_time(now, "now") if now not in (None, "") else datetime.datetime.now(datetime.timezone.utc)
    flags = flags or {}
    records = {str(s): dict(r.get("record") or {}) for s, r in (recalled or {}).items() if (r or {}).get("record")}
    plan: dict[str, Any] = {
        "runbook": runbook,
        "state": "nothing_recorded",
        "changed": False,
        "run": None,
        "at": None,
        "by": None,
        "services": {},
        "flags_delete": [],
        "flags_unread": [],
        "restored": [],
        "already": [],
        "left": [],
        "records": {},
        "reverted": None,
        "message": "",
    }
    if not records:
        plan["message"] = (
            f"nothing to revert: no mitigation of {runbook} is recorded on "
            f"{', '.join(sorted(str(s) for s in (recalled or {}))) or 'any service'}"
        )
        return plan
    latest = max(records.values(), key=lambda r: (str(r.get("at") or ""), str(r.get("run") or "")))
    plan.update(run=latest.get("run"), at=latest.get("at"), by=latest.get("by"))
    targets = {s: r for s, r in records.items() if r.get("run") == latest.get("run")}
    pending = {s: r for s, r in targets.items() if not r.get("reverted")}
    if not pending:
        done = latest.get("reverted") or {}
        plan.update(state="already_reverted", reverted=done)
        restored = ", ".join(done.get("restored") or []) or "nothing"
        plan["message"] = (
            f"nothing to revert: the latest changing run of {runbook} "
            f"({latest.get('at')} by {latest.get('by') or '?'}) "
            f"was already reverted at {done.get('at', '?')} by {done.get('by') or '?'} (restored: {restored})"
        )
        return plan
    plan["state"] = "revert"
    for service, record in sorted(pending.items()):
        current = recalled[service] or {}
        target: dict[str, Any] = {}
        restored_here: list[str] = []
        left_here: list[str] = []
        for change in record.get("changes") or []:
            kind, key = change.get("kind"), change.get("key")
            entry = {"service": service, "kind": kind, "key": key, "from": change.get("from"), "to": change.get("to")}
            if kind == "flag":
                read = flags.get(key)
                if read is None:
                    plan["flags_unread"].append({"key": key, "value": change.get("to")})
                    continue
                if not read.get("existed"):
                    plan["already"].append({**entry, "now": None, "why": "gone already (expired or removed)"})
                elif _flag_is_ours(change, read, moment):
                    plan["flags_delete"].append(key)
                    plan["restored"].append({**entry, "now": change.get("to")})
                    restored_here.append(describe_change({**change, "from": change.get("to"), "to": None}))
                else:
                    why = "set again since (another value or a new expiry): left alone"
                    plan["left"].append({**entry, "now": "set", "why": why})
                    left_here.append(f"redis {key}")
                continue
            now_value = _current(kind, key, current)
            if change.get("from_ref"):
                why = "was set from a reference (secret or ConfigMap) before: restore it by hand"
                plan["left"].append({**entry, "now": now_value, "why": why})
                left_here.append(str(key))
            elif _same(kind, now_value, change.get("to")):
                if kind == "env":
                    target.setdefault("env", {})[key] = change.get("from")
                else:
                    slot = {"replicas": "replicas", "hpa_min": "min_replicas", "hpa_max": "max_replicas"}[kind]
                    target.setdefault("scale", {})[slot] = change.get("from")
                plan["restored"].append({**entry, "now": now_value})
                restored_here.append(describe_change({**change, "from": now_value, "to": change.get("from")}))
            elif _same(kind, now_value, change.get("from")):
                plan["already"].append({**entry, "now": now_value, "why": "already back to the previous value"})
            else:
                why = f"changed since (now {show(now_value)}, this run set {show(change.get('to'))}): left alone"
                plan["left"].append({**entry, "now": now_value, "why": why})
                left_here.append(describe_change({**change, "from": now_value, "to": change.get("from")}))
        if target:
            plan["services"][service] = target
        plan["records"][service] = {
            **record,
            "reverted": {
                "run": str(run or ""),
                "at": now_iso(at if at not in (None, "") else moment),
                "by": str(by or ""),
                "restored": restored_here,
                "left": left_here,
            },
        }
    if plan["flags_unread"]:
        plan["message"] = "flags of the run still to read: " + ", ".join(f["key"] for f in plan["flags_unread"])
        return plan
    plan["changed"] = bool(plan["restored"])
    parts = []
    if plan["restored"]:
        parts.append(
            "restored "
            + "; ".join(f"{e['service']}: {_label(e)} {show(e['now'])} -> {show(e['from'])}" for e in plan["restored"])
        )
    if plan["already"]:
        parts.append("already back: " + ", ".join(f"{e['service']}: {_label(e)}" for e in plan["already"]))
    if plan["left"]:
        parts.append("left alone: " + "; ".join(f"{e['service']}: {_label(e)} {e['why']}" for e in plan["left"]))
    plan["message"] = f"revert of {runbook}'s run of {latest.get('at')} by {latest.get('by') or '?'}: " + (
        "; ".join(parts) or "nothing"
    )
    return plan


def _label(entry: Mapping[str, Any]) -> str:
    kind = entry.get("kind")
    return {"replicas": "replicas", "hpa_min": "HPA minReplicas", "hpa_max": "HPA maxReplicas"}.get(
        kind, str(entry.get("key")) if kind == "env" else f"redis {entry.get('key')}"
    )
