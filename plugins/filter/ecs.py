# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters the platform role uses on ECS data (the logic lives in module_utils/ecs.py)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.module_utils.ecs import (
    EcsError,
    platform_status,
    revise_task_definition,
)
from ansible_collections.stratum.ops.plugins.module_utils.ecs import container_definition as _container
from ansible_collections.stratum.ops.plugins.module_utils.ecs import env_changes as _env_changes
from ansible_collections.stratum.ops.plugins.module_utils.ecs import parse_secret_reference as _secret_ref


def ecs_platform_status(read: dict[str, Any], container: str) -> dict[str, Any]:
    try:
        return platform_status(read, container)
    except EcsError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def ecs_revise(
    task_definition: dict[str, Any], container: str, image: str | None = None, env: dict[str, Any] | None = None
) -> dict[str, Any]:
    try:
        return revise_task_definition(task_definition, container, image=image, env=env)
    except EcsError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def ecs_env_changes(task_definition: dict[str, Any], container: str, env: dict[str, Any]) -> list[str]:
    try:
        return _env_changes(_container(task_definition.get("containerDefinitions") or [], container), env or {})
    except EcsError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def ecs_secret_ref(value_from: str) -> dict[str, str]:
    return _secret_ref(value_from)


class FilterModule:
    """stratum.ops ECS filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "ecs_platform_status": ecs_platform_status,
            "ecs_revise": ecs_revise,
            "ecs_env_changes": ecs_env_changes,
            "ecs_secret_ref": ecs_secret_ref,
        }
