#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dependency_probe_info
short_description: Reachability and latency of a service's dependencies (HTTP GET or TCP connect)
version_added: 0.1.0
description:
  - Probes each dependency once from the host the task runs on - an HTTP GET for a C(url) (any answer below 500
    means up, the dependency answered) or a TCP connect for a C(tcp) V(host:port) - and reports whether it is up,
    the status and the latency in milliseconds.
  - A dependency that cannot be reached is reported (V(up=false) with the error), never a task failure.
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
options:
  dependencies:
    description: What to probe, each with C(name) and either C(url) or C(tcp) (V(host:port)).
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds to wait for each dependency.
    type: float
    default: 5
"""

EXAMPLES = r"""
- name: Probe the dependencies
  stratum.ops.dependency_probe_info:
    dependencies:
      - {name: meta, url: "https://graph.facebook.com/v18.0/me"}
      - {name: postgres, tcp: "db.internal:5432"}
  register: deps
"""

RETURN = r"""
probes:
  description: One entry per dependency, in order.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "meta", "kind": "http", "target": "https://graph.facebook.com/v18.0/me", "up": true,
            "status": 400, "latency_ms": 84.2, "error": null}]
down:
  description: Names of the dependencies that are not up.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stratum.ops.plugins.module_utils.probe import probe, split_host_port


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            dependencies=dict(type="list", elements="dict", required=True),
            timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True,
    )
    timeout = module.params["timeout"]
    if not 0 < timeout <= 300:
        module.fail_json(msg=f"timeout must be between 0 and 300 seconds, got {timeout}")
    for dependency in module.params["dependencies"]:
        if bool(dependency.get("url")) == bool(dependency.get("tcp")):
            module.fail_json(msg=f"each dependency needs either url or tcp (host:port), got {dependency}")
        if dependency.get("tcp"):
            try:
                split_host_port(dependency["tcp"])
            except ValueError as exc:
                module.fail_json(msg=str(exc))
    probes = [probe(dependency, timeout) for dependency in module.params["dependencies"]]
    module.exit_json(changed=False, probes=probes, down=[p["name"] for p in probes if not p["up"]])


if __name__ == "__main__":
    main()
