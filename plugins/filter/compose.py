# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters the platform role uses on Docker Compose data."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def compose_env_unapplied(config: dict[str, Any], service: str, wanted: dict[str, Any]) -> list[str]:
    """Names in wanted (NAME: value, None = unset) that the service's resolved environment does not reflect.

    config is `docker compose config --format json`. A variable written to an env file the service does not
    load (a project .env used only for ${...} interpolation) shows up here instead of as a silent no-op.
    """
    services = (config or {}).get("services") or {}
    if service not in services:
        known = ", ".join(sorted(services))
        raise AnsibleFilterError(f"service {service!r} is not in the compose configuration ({known})")
    environment = services[service].get("environment") or {}
    if isinstance(environment, list):  # the short syntax, NAME=value
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    unapplied = []
    for name, value in (wanted or {}).items():
        current = environment.get(name)
        if value is None:
            if current is not None:
                unapplied.append(name)
        elif current is None or str(current) != str(value):
            unapplied.append(name)
    return sorted(unapplied)


class FilterModule:
    """stratum.ops Compose filters."""

    def filters(self) -> dict[str, Any]:
        return {"compose_env_unapplied": compose_env_unapplied}
