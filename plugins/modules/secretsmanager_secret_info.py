#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secret_info
short_description: Report how old AWS Secrets Manager secrets are, without reading their values
version_added: 0.1.0
description:
  - Describes each secret (C(DescribeSecret)) and reports when its value last changed, its age in days and
    whether a rotation is due.
  - Never reads a secret value (no C(GetSecretValue) call) and never changes anything.
  - Exists because no maintained module reports Secrets Manager metadata; the rotation itself is done with
    M(community.aws.secretsmanager_secret).
author:
  - Stratum SRE (@stratum-sre)
options:
  names:
    description:
      - Names or ARNs of the secrets to describe.
    type: list
    elements: str
    required: true
  max_age_days:
    description:
      - A secret whose value is at least this many days old is reported as due for rotation.
    type: int
    default: 90
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: community.aws.secretsmanager_secret
"""

EXAMPLES = r"""
- name: Which Stratum secrets are due for rotation
  stratum.ops.secretsmanager_secret_info:
    names:
      - stratum/production/jwt-secret
      - stratum/production/pii-encryption-key
    max_age_days: 90
  register: secret_ages
"""

RETURN = r"""
secrets:
  description: One entry per requested secret, in the order given. Values are never included.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Secret name.
      type: str
      sample: stratum/production/jwt-secret
    arn:
      description: Secret ARN (empty when it does not exist).
      type: str
    exists:
      description: Whether the secret exists.
      type: bool
    description:
      description: The secret's description.
      type: str
    created_date:
      description: ISO 8601 creation time.
      type: str
    last_changed_date:
      description: ISO 8601 time the secret last changed.
      type: str
    last_rotated_date:
      description: ISO 8601 time of the last rotation by Secrets Manager, if any.
      type: str
    age_days:
      description: Days since the value last changed (or since creation).
      type: float
      sample: 97.5
    rotation_enabled:
      description: Whether Secrets Manager's own rotation is configured.
      type: bool
    tags:
      description: The secret's tags as a dict.
      type: dict
    deleted:
      description: Whether the secret is scheduled for deletion.
      type: bool
    due:
      description: Whether O(max_age_days) has passed.
      type: bool
    reason:
      description: The decision in words.
      type: str
      sample: value is 97.5 days old (max 90)
due:
  description: Names of the secrets due for rotation.
  returned: always
  type: list
  elements: str
missing:
  description: Names of the secrets that do not exist.
  returned: always
  type: list
  elements: str
"""

import datetime

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import aws_checks, botocore_config
from ansible_collections.stratum.ops.plugins.module_utils.secretsmanager import secret_age_facts
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            max_age_days=dict(type="int", default=90),
        ),
        supports_check_mode=True,
    )
    validate_module(
        module, aws_checks(module.params), [(check_number, "max_age_days", module.params["max_age_days"], 1, 36500)]
    )
    names = [n for n in module.params["names"] if n]
    max_age = module.params["max_age_days"]
    if not names:
        module.fail_json(msg="names must list at least one secret name or ARN")
    if max_age < 1:
        module.fail_json(msg=f"max_age_days must be at least 1 (got {max_age})")
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff(), config=botocore_config())
    now = datetime.datetime.now(datetime.timezone.utc)
    secrets = []
    for name in names:
        try:
            described = client.describe_secret(SecretId=name, aws_retry=True)
        except is_boto3_error_code("ResourceNotFoundException"):
            described = None
        except Exception as exc:  # pylint: disable=duplicate-except
            module.fail_json_aws(exc, msg=f"cannot describe secret {name}")
        secrets.append(secret_age_facts(name, described, now, max_age))
    module.exit_json(
        changed=False,
        secrets=secrets,
        due=[s["name"] for s in secrets if s["due"]],
        missing=[s["name"] for s in secrets if not s["exists"]],
    )


if __name__ == "__main__":
    main()
