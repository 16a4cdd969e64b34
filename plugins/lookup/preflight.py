# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: preflight
author:
  - Stratum SRE (@stratum-sre)
short_description: check that a stratum inventory is loaded and a runbook's endpoints are configured
description:
  - Resolves the role variables a runbook reads its endpoints from (which default to the inventory's
    C(stratum_*) variables) and returns which endpoints it will use, which optional data sources are
    not configured, and which required endpoints are missing, each with the variable to set.
  - With O(stage=inventory) it only checks that a stratum inventory is loaded (C(stratum_environment)
    set, the runbook's host group non-empty), naming the inventory sources it got.
  - The map runbook -> endpoints -> inventory variable lives in C(module_utils/preflight.py).
  - Used by the C(stratum.ops.preflight) role; it never contacts an endpoint.
options:
  _terms:
    description: The runbook (role) name, e.g. C(incident_redis_memory).
    required: true
  stage:
    description: C(inventory) (inventory loaded, group non-empty) or C(endpoints) (also the endpoints).
    type: str
    default: endpoints
    choices: [inventory, endpoints]
"""

EXAMPLES = r"""
- name: Endpoints of the Redis memory runbook
  ansible.builtin.set_fact:
    preflight_result: "{{ lookup('stratum.ops.preflight', 'incident_redis_memory') }}"
"""

RETURN = r"""
_raw:
  description: One dict per runbook.
  type: list
  elements: dict
  contains:
    environment: {description: stratum_environment, type: str}
    group: {description: the group whose hosts run the runbook's steps, type: str}
    endpoints: {description: endpoint name -> host:port/db or URL without password, type: dict}
    not_configured: {description: "endpoint name -> 'not configured: set VAR'", type: dict}
    errors: {description: why the run must stop (empty when it may go on), type: list, elements: str}
"""

from typing import Any

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.plugins.lookup import LookupBase
from ansible_collections.stratum.ops.plugins.module_utils.preflight import (
    MISSING,
    RUNBOOKS,
    check_inventory,
    check_runbook,
    preflight_error,
)


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        stage = self.get_option("stage")

        undefined: dict[str, str] = {}  # variable -> why it is undefined (an inventory's undef() hint)

        def resolve(name: str) -> Any:
            if name not in variables:
                return MISSING
            try:
                return self._templar.template(variables[name])
            except AnsibleUndefinedVariable as exc:
                undefined[name] = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
                return MISSING

        results = []
        for term in terms:
            runbook = str(term)
            if runbook not in RUNBOOKS:
                raise AnsibleError(f"preflight: unknown runbook {runbook!r}; known: {', '.join(sorted(RUNBOOKS))}")
            group = RUNBOOKS[runbook].group
            environment = resolve("stratum_environment")
            errors = check_inventory(
                None if environment is MISSING else environment,
                variables.get("groups") or {},
                group,
                variables.get("ansible_inventory_sources"),
            )
            result: dict[str, Any] = {
                "environment": None if environment is MISSING else environment,
                "group": group,
                "endpoints": {},
                "not_configured": {},
                "errors": errors,
            }
            if stage == "endpoints" and not errors:
                actions = resolve(RUNBOOKS[runbook].actions_var) if RUNBOOKS[runbook].actions_var else []
                checked = check_runbook(runbook, resolve, [] if actions is MISSING else list(actions or []))
                result["endpoints"] = checked["endpoints"]
                result["not_configured"] = checked["not_configured"]
                if checked["missing"]:
                    details = {
                        endpoint.name: "; ".join(undefined[src] for src in endpoint.sources() if src in undefined)
                        for endpoint in RUNBOOKS[runbook].endpoints
                        if endpoint.name in checked["missing"]
                    }
                    result["errors"] = [preflight_error(runbook, environment, checked["missing"], details)]
            results.append(result)
        return results
