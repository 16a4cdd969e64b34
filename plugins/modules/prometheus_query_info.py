#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_query_info
short_description: Run several named PromQL queries and report each answer or why there is none
version_added: 0.1.0
description:
  - Runs each query in O(queries) against the Prometheus HTTP API (C(/api/v1/query), or C(/api/v1/query_range)
    when the query has a O(queries[].range)) and returns the samples by name.
  - A failure is reported, not fatal - an unreachable server, a timeout, a query Prometheus rejects or a query
    with no samples comes back with RV(queries.error) and RV(queries.reason), so triage goes on with the other
    sections. Once the server is unreachable the remaining queries are reported the same without waiting.
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.prometheus
options:
  queries:
    description: The queries to run, in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The key of this query's answer in RV(queries).
        type: str
        required: true
      query:
        description: The PromQL expression.
        type: str
        required: true
      range:
        description:
          - A Prometheus duration (V(30m)) that makes this a range query ending now; each series then has C(values).
        type: str
      step:
        description: Resolution of a range query, as a Prometheus duration.
        type: str
        default: 15s
seealso:
  - name: Prometheus HTTP API
    description: The query API this module calls.
    link: https://prometheus.io/docs/prometheus/latest/querying/api/
"""

EXAMPLES = r"""
- name: 5xx share and the top failing endpoints
  stratum.ops.prometheus_query_info:
    url: "{{ stratum_prometheus_url }}"
    queries:
      - name: error_ratio
        query: sum(rate(api_requests_total{status_code=~"5.."}[5m])) / sum(rate(api_requests_total[5m]))
      - name: top_endpoints
        query: topk(5, sum by (endpoint) (rate(api_requests_total{status_code=~"5.."}[5m])))
      - name: error_ratio_history
        query: sum(rate(api_requests_total{status_code=~"5.."}[1m])) / sum(rate(api_requests_total[1m]))
        range: 30m
        step: 30s
  register: error_metrics

- name: Say why a query has no answer
  ansible.builtin.debug:
    msg: "{{ error_metrics.queries.error_ratio.reason }}: {{ error_metrics.queries.error_ratio.error }}"
  when: not error_metrics.queries.error_ratio.ok
"""

RETURN = r"""
queries:
  description: One entry per query name.
  returned: always
  type: dict
  contains:
    query:
      description: The PromQL sent.
      type: str
    ok:
      description: Whether the query answered with at least one sample.
      type: bool
    result:
      description:
        - "Instant query - a list of C(metric) (labels) and C(value); range query - C(metric) and C(values),
          a list of V([time, value]) pairs."
        - A value is null where Prometheus answered NaN or an infinity (no traffic, division by zero).
      type: list
      elements: dict
    error:
      description: Why there is no answer, in words; null when RV(queries.ok).
      type: str
    reason:
      description:
        - V(unreachable), V(timeout), V(bad_query), V(http_error), V(bad_response) or V(empty).
        - Null when RV(queries.ok).
      type: str
  sample:
    error_ratio:
      query: sum(...)
      ok: true
      result: [{"metric": {}, "value": 0.12}]
      error: null
      reason: null
url:
  description: The Prometheus URL the queries went to.
  returned: always
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stratum.ops.plugins.module_utils.prometheus import (
    PrometheusClient,
    parse_duration,
    prometheus_common_argument_spec,
    validate_connection,
)


def main() -> None:
    argument_spec = prometheus_common_argument_spec()
    argument_spec.update(
        queries=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                query=dict(type="str", required=True),
                range=dict(type="str"),
                step=dict(type="str", default="15s"),
            ),
        )
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    problem = validate_connection(params)
    names = [spec["name"] for spec in params["queries"]]
    if not problem and len(set(names)) != len(names):
        problem = f"query names must be unique, got {names}"
    for spec in params["queries"]:
        for key in ("range", "step"):
            if spec.get(key) and not problem:
                try:
                    parse_duration(spec[key])
                except ValueError as exc:
                    problem = f"query {spec['name']}: {key}: {exc}"
    if problem:
        module.fail_json(msg=f"prometheus_query_info: {problem}")
    client = PrometheusClient(params["url"], params["timeout"], params["bearer_token"] or "", params["validate_certs"])
    try:
        answers = client.run_all(params["queries"])
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"querying Prometheus at {params['url']} failed: {exc}", exception=traceback.format_exc())
    module.exit_json(changed=False, queries=answers, url=params["url"])


if __name__ == "__main__":
    main()
