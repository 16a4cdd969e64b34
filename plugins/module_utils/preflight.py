# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which endpoints each runbook needs, which inventory variable sets each one, and how to show it.

Pure Python (no Ansible): the `stratum.ops.preflight` lookup resolves the role variables and hands
them here. A required endpoint that is missing stops the run before its first step, naming the
variable to set; an optional data source that is missing is reported as `not configured: set VAR`.
Endpoints are shown as host:port/db or a URL without its password (never a secret).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Group whose hosts run a runbook's steps: the controller (localhost) for cloud environments, the
# app host for Compose environments (its Redis, PostgreSQL, broker and logs listen there).
RUNBOOK_GROUP = "stratum_control"

# Marker for "the variable is not set" (undefined, or its template refers to something undefined).
MISSING = object()


@dataclass(frozen=True)
class Endpoint:
    """One endpoint a runbook reads.

    source: the role variable(s) the runbook uses (a tuple host, port, database for `postgres`);
    variable: what to set in the inventory (or the environment) when it is missing;
    required: True, False, or the actions that need it (optional otherwise);
    required_flag: a boolean role variable that must also be true for `required` to apply.
    """

    name: str
    source: str | tuple[str, ...]
    variable: str
    kind: str = "url"  # url | webhook | postgres | path | text | bucket | list | aws | registry
    required: bool | frozenset[str] = True
    required_flag: str = ""

    def sources(self) -> tuple[str, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)


@dataclass(frozen=True)
class Runbook:
    name: str
    actions_var: str = ""
    endpoints: tuple[Endpoint, ...] = field(default_factory=tuple)
    group: str = RUNBOOK_GROUP


def _postgres(role: str) -> Endpoint:
    return Endpoint(
        "postgres",
        (f"{role}_host", f"{role}_port", f"{role}_database"),
        "stratum_postgres (host, port, database)",
        kind="postgres",
    )


def _prometheus(role: str) -> Endpoint:
    return Endpoint("prometheus", f"{role}_prometheus_url", "stratum_prometheus_url", required=False)


# Announcing and auditing (the notify role): every runbook reads them; none of them stops a run.
NOTIFY = (
    Endpoint(
        "slack_webhook",
        "stratum_slack_webhook_url",
        "stratum_slack_webhook_url (environment STRATUM_SLACK_WEBHOOK_URL or an AWX credential)",
        kind="webhook",
        required=False,
    ),
    Endpoint("slack_channel", "stratum_slack_channel", "stratum_slack_channel", kind="text", required=False),
    Endpoint("audit_log", "stratum_audit_log", "stratum_audit_log", kind="path", required=False),
)

RUNBOOKS: dict[str, Runbook] = {
    runbook.name: runbook
    for runbook in (
        Runbook("db_maintenance", "db_maintenance_actions", (_postgres("db_maintenance"),)),
        Runbook("incident_db_connections", "incident_db_connections_actions", (_postgres("incident_db_connections"),)),
        Runbook(
            "db_migration",
            "db_migration_actions",
            (
                Endpoint(
                    "database",
                    "db_migration_database_url",
                    "DATABASE_URL (environment or AWX credential)",
                    required=frozenset({"migrate", "downgrade"}),
                ),
                Endpoint(
                    "alembic_project", "db_migration_project_dir", "stratum_database.alembic_project_dir", kind="path"
                ),
                Endpoint(
                    "rds_instance",
                    "db_migration_rds_instance",
                    "stratum_database.rds_instance",
                    kind="text",
                    required=frozenset({"snapshot", "restore_snapshot"}),
                    required_flag="db_migration_snapshot",
                ),
                Endpoint(
                    "aws",
                    "db_migration_aws",
                    "stratum_aws.region",
                    kind="aws",
                    required=frozenset({"snapshot", "restore_snapshot"}),
                    required_flag="db_migration_snapshot",
                ),
            ),
        ),
        Runbook(
            "incident_redis_memory",
            "incident_redis_memory_actions",
            (Endpoint("redis", "incident_redis_memory_url", "stratum_redis.url"),),
        ),
        Runbook(
            "incident_rate_limit",
            "incident_rate_limit_actions",
            (Endpoint("redis", "incident_rate_limit_url", "stratum_redis.url"), _prometheus("incident_rate_limit")),
        ),
        Runbook(
            "incident_celery_backlog",
            "incident_celery_backlog_actions",
            (Endpoint("broker", "incident_celery_backlog_broker_url", "stratum_celery.broker_url"),),
        ),
        Runbook(
            "incident_high_error_rate",
            "incident_high_error_rate_actions",
            (
                _prometheus("incident_high_error_rate"),
                Endpoint(
                    "dependencies",
                    "incident_high_error_rate_dependencies",
                    "stratum_dependencies",
                    kind="list",
                    required=False,
                ),
            ),
        ),
        Runbook(
            "log_cleanup",
            "log_cleanup_actions",
            (
                Endpoint("logs", "log_cleanup_path", "stratum_logs.path", kind="path"),
                Endpoint(
                    "log_archive",
                    "log_cleanup_s3_bucket",
                    "stratum_logs.archive_bucket",
                    kind="bucket",
                    required=frozenset({"archive"}),
                ),
                Endpoint("aws", "log_cleanup_aws", "stratum_aws.region", kind="aws", required=frozenset({"archive"})),
            ),
            group="app_hosts",
        ),
        Runbook(
            "secret_rotation",
            "secret_rotation_actions",
            (
                Endpoint("aws", "secret_rotation_aws", "stratum_aws.region", kind="aws"),
                Endpoint(
                    "redis",
                    "secret_rotation_redis_url",
                    "stratum_redis.url",
                    required=frozenset({"invalidate_sessions"}),
                ),
                Endpoint(
                    "api_health",
                    "secret_rotation_verify_url",
                    "stratum_services.api.health_url",
                    required=False,
                ),
            ),
        ),
        Runbook(
            "scaling",
            "scaling_actions",
            (
                Endpoint(
                    "rds_instance",
                    "scaling_db_instance",
                    "stratum_database.rds_instance",
                    kind="text",
                    required=frozenset({"scale_database"}),
                ),
                Endpoint(
                    "aws", "scaling_aws", "stratum_aws.region", kind="aws", required=frozenset({"scale_database"})
                ),
            ),
        ),
        Runbook("deploy", "", (Endpoint("api_health", "deploy_health_url", "stratum_services.api.health_url"),)),
        Runbook(
            "build", "", (Endpoint("registry", "build_registry", "stratum_registry (kind, url)", kind="registry"),)
        ),
        Runbook("rollback", "", (Endpoint("api_health", "rollback_health_url", "stratum_services.api.health_url"),)),
        Runbook(
            "predeploy_checklist",
            "",
            # The API is needed for the HTTP checks only (a settings-only checklist reads the platform).
            (
                Endpoint(
                    "api",
                    "predeploy_checklist_base_url",
                    "stratum_services.api.health_url",
                    required_flag="predeploy_checklist_check_http",
                ),
            ),
        ),
    )
}


def _is_missing(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, (str, list, dict, tuple)) and len(value) == 0)


def redact_url(url: str, keep_path: bool = True) -> str:
    """A URL without its password (and, for webhooks, without the secret path)."""
    parts = urlsplit(str(url))
    if not parts.scheme or not parts.netloc:
        return str(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    shown = f"{parts.scheme}://{netloc}"
    return shown + (parts.path if keep_path else "")


def describe(endpoint: Endpoint, values: tuple[Any, ...]) -> str:
    """How the report shows an endpoint: host:port/db, a URL without password, a path, a list of names."""
    value = values[0]
    if endpoint.kind == "postgres":
        host, port, database = values
        return f"{host}:{port}/{database}"
    if endpoint.kind == "url":
        return redact_url(str(value))
    if endpoint.kind == "webhook":
        # The path of an incoming-webhook URL is its secret: show scheme and host only.
        return redact_url(str(value), keep_path=False)
    if endpoint.kind == "bucket":
        return f"s3://{value}"
    if endpoint.kind == "aws":
        if not isinstance(value, Mapping):
            return str(value)
        shown = f"aws:{value.get('region', '')}"
        return shown + (f" ({redact_url(value['endpoint_url'])})" if value.get("endpoint_url") else "")
    if endpoint.kind == "registry":
        url = value.get("url") if isinstance(value, Mapping) else ""
        return f"{value.get('kind')}:{redact_url(url) if url else '(the account registry)'}"
    if endpoint.kind == "list":
        items = []
        for item in value:
            if isinstance(item, Mapping):
                target = item.get("url") or item.get("tcp") or ""
                items.append(f"{item.get('name', target)}={redact_url(str(target))}")
            else:
                items.append(str(item))
        return ", ".join(items)
    return str(value)


# Settings given as a dict: the key without which the dict names no endpoint.
_DICT_KEYS = {"aws": "region", "registry": "kind"}


def _dict_missing(endpoint: Endpoint, values: tuple[Any, ...]) -> bool:
    key = _DICT_KEYS.get(endpoint.kind)
    return key is not None and not (isinstance(values[0], Mapping) and values[0].get(key))


def check_runbook(
    runbook: str,
    resolve: Callable[[str], Any],
    actions: list[str] | None = None,
) -> dict[str, Any]:
    """Resolve a runbook's endpoints.

    resolve(name) returns a role variable's value or MISSING. Returns {endpoints, not_configured,
    missing}: `missing` maps the required endpoints that are not set to the variable to set.
    """
    if runbook not in RUNBOOKS:
        raise KeyError(f"unknown runbook {runbook!r}; known: {', '.join(sorted(RUNBOOKS))}")
    spec = RUNBOOKS[runbook]
    requested = set(actions or [])
    endpoints: dict[str, str] = {}
    not_configured: dict[str, str] = {}
    missing: dict[str, str] = {}
    for endpoint in spec.endpoints + NOTIFY:
        values = tuple(resolve(source) for source in endpoint.sources())
        if any(_is_missing(v) for v in values) or _dict_missing(endpoint, values):
            if endpoint.required is True:
                needed = True
            elif endpoint.required:
                needed = bool(requested & endpoint.required)
            else:
                needed = False
            if needed and endpoint.required_flag:
                flag = resolve(endpoint.required_flag)
                needed = flag is not MISSING and str(flag).lower() in ("true", "yes", "1", "on")
            if needed:
                missing[endpoint.name] = endpoint.variable
            not_configured[endpoint.name] = f"not configured: set {endpoint.variable}"
            continue
        endpoints[endpoint.name] = describe(endpoint, values)
    return {"endpoints": endpoints, "not_configured": not_configured, "missing": missing}


def check_inventory(
    environment: Any,
    groups: Mapping[str, list[str]],
    group: str,
    inventory_sources: Any,
) -> list[str]:
    """Problems that mean no stratum inventory is loaded (empty list: fine)."""
    sources = ", ".join(str(s) for s in (inventory_sources or [])) or "none"
    problems = []
    if _is_missing(environment):
        problems.append(
            f"no stratum inventory loaded (stratum_environment is not set; inventory given: {sources}); "
            "run with -i inventories/<production|staging|development|local>"
        )
    if not groups.get(group):
        problems.append(
            f"group {group} of the inventory ({sources}) has no hosts; it names the host runbook steps run on"
        )
    return problems


def preflight_error(
    runbook: str, environment: Any, missing: Mapping[str, str], details: Mapping[str, str] | None = None
) -> str:
    """The message a run stops with when required endpoints are not configured.

    details: endpoint name -> why its variable is undefined (e.g. the hint of an inventory's undef()).
    """
    details = details or {}
    names = "; ".join(
        f"{name}: set {variable}" + (f" ({details[name]})" if details.get(name) else "")
        for name, variable in missing.items()
    )
    return f"{runbook} in environment {environment}: required endpoint not configured ({names}). Nothing was run."
