#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_login_info
short_description: Read the registry user and token for docker login from ECR
version_added: 1.1.0
description:
  - Calls ECR C(GetAuthorizationToken) and returns the user and password (the token) that
    M(community.docker.docker_login) needs, and the registry's proxy endpoint.
  - "The token is a credential: register the result in a task with C(no_log: true) and pass it on only to
    tasks with C(no_log: true)."
  - Never changes anything. Exists because no maintained module returns the ECR login credentials
    without shelling out to the AWS CLI.
author:
  - Stratum SRE (@stratum-sre)
options:
  registry_id:
    description:
      - The AWS account of the registry when it is not the caller's.
    type: str
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: community.docker.docker_login
  - module: stratum.ops.registry_image_info
"""

EXAMPLES = r"""
- name: ECR credentials
  stratum.ops.ecr_login_info:
    region: eu-west-1
  register: stratum_ecr
  no_log: true

- name: Log in to ECR
  community.docker.docker_login:
    registry_url: "{{ stratum_ecr.registry }}"
    username: "{{ stratum_ecr.username }}"
    password: "{{ stratum_ecr.password }}"
  no_log: true
"""

RETURN = r"""
username:
  description: The registry user (C(AWS) for ECR).
  returned: success
  type: str
  sample: AWS
password:
  description: The token to log in with; a credential valid for 12 hours.
  returned: success
  type: str
proxy_endpoint:
  description: The registry URL ECR names for the token.
  returned: success
  type: str
  sample: https://123456789012.dkr.ecr.eu-west-1.amazonaws.com
registry:
  description: The proxy endpoint as HOST[:PORT] (what docker login and image references use).
  returned: success
  type: str
  sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
expires_at:
  description: ISO 8601 time the token expires.
  returned: success
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import aws_checks, botocore_config
from ansible_collections.stratum.ops.plugins.module_utils.registry import RegistryError, ecr_login
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    module = AnsibleAWSModule(argument_spec=dict(registry_id=dict(type="str")), supports_check_mode=True)
    validate_module(module, aws_checks(module.params))
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff(), config=botocore_config())
    try:
        login = ecr_login(client, module.params["registry_id"])
    except RegistryError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:
        module.fail_json_aws(exc, msg="cannot get an ECR authorization token")
    module.exit_json(changed=False, **login)


if __name__ == "__main__":
    main()
