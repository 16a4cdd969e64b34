# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every stratum.ops Celery module.
    DOCUMENTATION = r"""
options:
  broker_url:
    description:
      - URL of the Celery broker, as the workers use it (C(redis://), C(rediss://), C(amqp://) or C(amqps://)).
      - Defaults to the E(CELERY_BROKER_URL) environment variable; one of the two is required.
      - Never logged; every URL the module returns has its password replaced by C(********).
      - The user's Celery app is never imported; a bare Celery app on this broker is enough.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the broker to accept the connection, and for workers to answer a broadcast.
      - Broker commands themselves may take up to five times this long (at least 5 seconds) before failing.
    type: float
    default: 1.0
requirements:
  - celery and kombu on the host that runs the module
  - redis (the Python client) for a Redis broker
notes:
  - The options can be set once for a play with C(module_defaults) and the C(group/stratum.ops.celery) action group.
"""
