# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The stability wait shared by every stratum.ops ECS module (plugins/module_utils/ecs.py).
    DOCUMENTATION = r"""
options:
  cluster:
    description:
      - Name or ARN of the ECS cluster that runs the service.
    type: str
    required: true
  service:
    description:
      - Name or ARN of the ECS service.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the service to become stable before failing.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two reads of the service while waiting.
    type: int
    default: 10
  wait_for_targets:
    description:
      - When the service registers into load balancer target groups, also wait until every target
        that is not draining reports C(healthy).
    type: bool
    default: true
notes:
  - A service is stable when its PRIMARY deployment has rolloutState C(COMPLETED) (where ECS reports one),
    its runningCount equals its desiredCount, no other deployment remains and, with O(wait_for_targets),
    its load balancer targets are healthy. A deployment whose rolloutState is C(FAILED) fails the wait at once.
  - Throttling (C(ThrottlingException), C(Throttling), C(RequestLimitExceeded)) is retried with jittered backoff.
"""
