# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the Prometheus modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Prometheus HTTP API, for example V(http://prometheus.monitoring:9090).
      - If not set, the environment variable E(PROMETHEUS_URL) is used; roles always pass it from the inventory.
    type: str
  bearer_token:
    description:
      - Bearer token sent as C(Authorization), for a Prometheus behind an authenticating proxy.
      - If not set, the environment variable E(PROMETHEUS_BEARER_TOKEN) is used.
    type: str
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 10
  validate_certs:
    description: Verify the server's TLS certificate for an V(https) URL.
    type: bool
    default: true
"""
