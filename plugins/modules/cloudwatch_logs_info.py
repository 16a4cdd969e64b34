#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_logs_info
short_description: Recent log lines of a CloudWatch Logs group (an ECS service's awslogs output)
version_added: 0.1.0
description:
  - Reads the newest events of a log group (optionally only streams with a prefix, for one ECS container) from a time
    window, at most O(tail) of them, oldest first - the structured C(aws logs tail) of the runbooks.
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
options:
  log_group:
    description: The log group, for example V(/ecs/stratum-api).
    type: str
    required: true
  stream_prefix:
    description: Only streams whose name starts with this (the awslogs C(prefix/container) of one container).
    type: str
    default: ""
  since_seconds:
    description: Only events from the last this-many seconds; V(0) reads the whole group.
    type: int
    default: 600
  tail:
    description: At most this many of the newest events.
    type: int
    default: 200
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The API's last 200 log lines from the past 15 minutes
  stratum.ops.cloudwatch_logs_info:
    log_group: /ecs/stratum-api
    stream_prefix: api/api
    since_seconds: 900
    tail: 200
  register: api_logs
"""

RETURN = r"""
lines:
  description: The messages, oldest first.
  returned: always
  type: list
  elements: str
events:
  description: Number of events returned, and whether older ones in the window were left out.
  returned: always
  type: dict
  sample: {"returned": 200, "truncated": true}
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import aws_checks, botocore_config
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module

# Pages read at most: a busy group in a long window is cut here rather than read for minutes.
MAX_PAGES = 50


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            log_group=dict(type="str", required=True),
            stream_prefix=dict(type="str", default=""),
            since_seconds=dict(type="int", default=600),
            tail=dict(type="int", default=200),
        ),
        supports_check_mode=True,
    )
    params = module.params
    validate_module(
        module,
        aws_checks(params),
        [
            (check_number, "tail", params["tail"], 1, 10000),
            (check_number, "since_seconds", params["since_seconds"], 0, 30 * 86400),
        ],
    )
    client = module.client("logs", retry_decorator=AWSRetry.jittered_backoff(), config=botocore_config())
    query = {"logGroupName": params["log_group"]}
    if params["stream_prefix"]:
        query["logStreamNamePrefix"] = params["stream_prefix"]
    if params["since_seconds"]:
        query["startTime"] = int((time.time() - params["since_seconds"]) * 1000)
    events: list[dict] = []
    try:
        for _page in range(MAX_PAGES):
            page = client.filter_log_events(aws_retry=True, **query)
            events.extend(page.get("events", []))
            if not page.get("nextToken"):
                break
            query["nextToken"] = page["nextToken"]
    except is_boto3_error_code("ResourceNotFoundException"):
        module.fail_json(msg=f"log group {params['log_group']} does not exist (is the service's awslogs driver set?)")
    except Exception as exc:  # pylint: disable=duplicate-except
        module.fail_json_aws(exc, msg=f"cannot read log group {params['log_group']}")
    if params["stream_prefix"]:  # also here: not every CloudWatch Logs implementation honours the prefix
        events = [e for e in events if str(e.get("logStreamName", "")).startswith(params["stream_prefix"])]
    events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
    newest = events[-params["tail"] :]
    module.exit_json(
        changed=False,
        lines=[e.get("message", "") for e in newest],
        events={"returned": len(newest), "truncated": len(events) > len(newest)},
    )


if __name__ == "__main__":
    main()
