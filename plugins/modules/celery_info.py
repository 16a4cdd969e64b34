#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: celery_info
short_description: Triage a Celery backlog in milliseconds, from the workers and the broker
version_added: 0.1.0
description:
  - Broadcasts C(inspect) commands (ping, stats, active_queues, active, reserved, scheduled) to the workers through a
    bare Celery app on the broker (the user's app is never imported) and reads every queue's depth from the broker.
  - All commands are broadcast at once on one connection and their replies collected together, returning as soon as
    every expected worker (O(workers)) answered every command. A triage costs about one broadcast round trip, and an
    unresponsive worker costs one O(timeout), not one per command.
  - Queue depth comes from the broker, which is the only place it lives. On Redis it is the C(LLEN) of the queue's list
    plus its priority sub-lists (kombu keeps priority steps 3, 6 and 9 in lists named C(<queue>\x06\x16<step>)). On
    RabbitMQ it is a passive C(queue.declare), which also gives the consumer count.
  - Never changes anything.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - stratum.ops.celery
options:
  workers:
    description:
      - Names of the workers expected to answer (C(celery@host) node names).
      - The broadcasts go to these workers only and return as soon as all of them answered; the ones that did not
        answer within O(timeout) are listed in RV(unresponsive).
      - Without it every worker is asked and each broadcast waits the full O(timeout) for replies.
    type: list
    elements: str
    default: []
  queues:
    description:
      - Queues whose depth to read from the broker.
      - Defaults to every queue a responding worker consumes, plus Celery's default queue C(celery). A queue nobody
        consumes is only seen when named here.
    type: list
    elements: str
    default: []
  backlog_threshold:
    description:
      - A queue deeper than this is over the threshold and listed in RV(backlog) (the CeleryQueueBacklog alert fires at
        1000).
    type: int
    default: 1000
  include:
    description:
      - Which inspect commands to collect from the workers. C(ping) is always sent.
      - C(active_queues) is also collected when O(queues) is empty, to know which queues to read.
    type: list
    elements: str
    choices: [ping, stats, active_queues, active, reserved, scheduled]
    default: [ping, stats, active_queues, active, reserved]
seealso:
  - module: stratum.ops.celery_purge
"""

EXAMPLES = r"""
- name: Triage the Celery backlog
  stratum.ops.celery_info:
    broker_url: "{{ lookup('ansible.builtin.env', 'CELERY_BROKER_URL') }}"
    workers: [celery@worker-1, celery@worker-2, celery@worker-3, celery@worker-4]
    queues: [default, bulk, celery]
  register: celery

- name: Page-friendly summary
  ansible.builtin.debug:
    msg: "{{ celery.summary }}"

- name: Fail when a queue is over the threshold
  ansible.builtin.assert:
    that: celery.backlog | length == 0
    fail_msg: "{{ celery.summary }}"
"""

RETURN = r"""
broker:
  description:
    - The broker URL, password replaced by C(********).
    - A URL without a password is masked whole by Ansible, since O(broker_url) is a C(no_log) option.
  returned: always
  type: str
  sample: redis://:********@redis.internal:6379/0
workers:
  description:
    - Every worker that answered, and every expected worker, by node name.
    - Fields a worker did not report (it did not answer, or the command was not in O(include)) are null.
  returned: always
  type: dict
  sample:
    celery@worker-1:
      responded: true
      pool: prefork
      concurrency: 8
      processed: 10412
      active: 8
      reserved: 4
      queues: [default]
  contains:
    responded:
      description: Whether the worker answered the ping within O(timeout).
      type: bool
    pool:
      description: Pool implementation (C(prefork), C(threads) as C(thread), C(solo), C(gevent), C(eventlet)).
      type: str
    concurrency:
      description: Maximum concurrency of the pool.
      type: int
    processed:
      description: Tasks the worker processed since it started (sum of C(stats.total)).
      type: int
    active:
      description: Tasks executing now.
      type: int
    reserved:
      description: Tasks prefetched and waiting in the worker.
      type: int
    queues:
      description: Queues the worker consumes.
      type: list
      elements: str
    scheduled:
      description: Tasks with an ETA or countdown held by the worker (only when O(include) has C(scheduled)).
      type: int
queues:
  description: Every queue read from the broker.
  returned: always
  type: dict
  sample:
    bulk: {depth: 5000, consumers: 0, over_threshold: true}
    default: {depth: 3, consumers: 4, over_threshold: false}
  contains:
    depth:
      description: Messages waiting in the queue (on Redis, its list plus its priority sub-lists).
      type: int
    consumers:
      description:
        - On RabbitMQ, the consumer count the broker reports.
        - On Redis, which keeps no such count, the number of responding workers that consume the queue (null when no
          worker reported its queues).
      type: int
    over_threshold:
      description: Whether depth is above O(backlog_threshold).
      type: bool
unresponsive:
  description: Expected workers (O(workers)) that did not answer within O(timeout).
  returned: always
  type: list
  elements: str
  sample: [celery@worker-4]
backlog:
  description: Queues over O(backlog_threshold), deepest first.
  returned: always
  type: list
  elements: dict
  sample: [{queue: bulk, depth: 5000}]
  contains:
    queue:
      description: Queue name.
      type: str
    depth:
      description: Messages waiting.
      type: int
summary:
  description: One line a person reads on a page.
  returned: always
  type: str
  sample: "3/4 workers responded (unresponsive: celery@worker-4); BACKLOG over 1000: bulk 5000, 0 consumers"
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.celery import (
    CELERY_IMPORT_ERROR,
    DEFAULT_INCLUDE,
    INSPECT_COMMANDS,
    REDIS_IMPORT_ERROR,
    CeleryBrokerError,
    celery_checks,
    celery_common_argument_spec,
    celery_triage,
    url_password,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = celery_common_argument_spec()
    argument_spec.update(
        workers={"type": "list", "elements": "str", "default": []},
        queues={"type": "list", "elements": "str", "default": []},
        backlog_threshold={"type": "int", "default": 1000},
        include={"type": "list", "elements": "str", "choices": list(INSPECT_COMMANDS), "default": DEFAULT_INCLUDE},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    password = url_password(module.params["broker_url"])
    if password:
        module.no_log_values.add(password)
    # The option (or its documented CELERY_BROKER_URL fallback) is resolved: Celery must not read the variable again.
    os.environ.pop("CELERY_BROKER_URL", None)
    validate_module(module, celery_checks(module.params))
    if CELERY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("celery"), exception=CELERY_IMPORT_ERROR)
    if module.params["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, got {module.params['timeout']}")
    if module.params["backlog_threshold"] < 0:
        module.fail_json(msg=f"backlog_threshold must be 0 or more, got {module.params['backlog_threshold']}")
    if any(not name.strip() for name in module.params["workers"] + module.params["queues"]):
        module.fail_json(msg="workers and queues must not contain empty names")

    try:
        result = celery_triage(
            module.params["broker_url"],
            module.params["timeout"],
            module.params["workers"],
            module.params["queues"],
            module.params["backlog_threshold"],
            module.params["include"],
        )
    except CeleryBrokerError as exc:
        module.fail_json(msg=str(exc))
    except ImportError:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"Celery triage failed unexpectedly: {exc}", exception=traceback.format_exc())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
