#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: celery_purge
short_description: Purge one Celery queue on the broker, only when it is safe to drop its tasks
version_added: 0.1.0
description:
  - Deletes every message waiting in one queue, straight on the broker (Redis lists including the priority sub-lists,
    or RabbitMQ C(queue.purge)). Tasks already reserved or executing on workers are not touched.
  - Purging loses the tasks for good, so the module only purges a queue listed in O(allowed_queues) or when O(force)
    is true; otherwise it fails and says why (the runbook's "purge if safe").
  - In check mode it reads the depth and reports it as what it would purge.
author:
  - Stratum SRE (@stratum-sre)
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.celery
attributes:
  check_mode:
    support: full
    details: Reads the queue depth and reports it in RV(purged); nothing is deleted.
  diff_mode:
    support: none
options:
  queue:
    description: Name of the queue to purge.
    type: str
    required: true
  allowed_queues:
    description:
      - Queues whose waiting tasks are safe to drop. O(queue) must be one of them unless O(force) is true.
    type: list
    elements: str
    default: []
  force:
    description: Purge O(queue) even though it is not in O(allowed_queues).
    type: bool
    default: false
seealso:
  - module: stratum.ops.celery_info
"""

EXAMPLES = r"""
- name: Drop the backlog of the reports queue (its tasks are regenerated nightly)
  stratum.ops.celery_purge:
    broker_url: "{{ lookup('ansible.builtin.env', 'CELERY_BROKER_URL') }}"
    queue: reports
    allowed_queues: [reports, thumbnails]

- name: See what a purge would drop
  stratum.ops.celery_purge:
    queue: thumbnails
    force: true
  check_mode: true
  register: would_purge
"""

RETURN = r"""
broker:
  description:
    - The broker URL, password replaced by C(********).
    - A URL without a password is masked whole by Ansible, since O(broker_url) is a C(no_log) option.
  returned: always
  type: str
  sample: redis://:********@redis.internal:6379/0
queue:
  description: The queue purged.
  returned: always
  type: str
  sample: reports
depth_before:
  description: Messages waiting in the queue before the purge.
  returned: always
  type: int
  sample: 5000
purged:
  description:
    - Messages deleted (in check mode, the messages that would be deleted).
  returned: always
  type: int
  sample: 5000
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.stratum.ops.plugins.module_utils.celery import (
    CELERY_IMPORT_ERROR,
    REDIS_IMPORT_ERROR,
    CeleryBrokerError,
    celery_checks,
    celery_common_argument_spec,
    purge_queue,
    purge_refusal,
    url_password,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    argument_spec = celery_common_argument_spec()
    argument_spec.update(
        queue={"type": "str", "required": True},
        allowed_queues={"type": "list", "elements": "str", "default": []},
        force={"type": "bool", "default": False},
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
    refusal = purge_refusal(module.params["queue"], module.params["allowed_queues"], module.params["force"])
    if refusal:
        module.fail_json(msg=refusal)

    try:
        result = purge_queue(
            module.params["broker_url"], module.params["timeout"], module.params["queue"], module.check_mode
        )
    except CeleryBrokerError as exc:
        module.fail_json(msg=str(exc))
    except ImportError:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    except Exception as exc:  # unexpected: keep the traceback for the bug report
        module.fail_json(msg=f"purging Celery queue failed unexpectedly: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
