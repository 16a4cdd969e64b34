#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: registry_image_info
short_description: Report whether container images exist in a registry for a tag, with their digests
version_added: 1.1.0
description:
  - For each image name, asks the registry whether C(<name>:<tag>) exists and which manifest digest it has.
  - With O(kind=ecr), asks the ECR API (C(DescribeImages)); a missing repository counts as a missing image.
  - With O(kind=plain), asks the registry's HTTP API v2 (C(HEAD /v2/<name>/manifests/<tag>) with the Docker and
    OCI manifest media types in C(Accept)); a C(401) is answered with Basic credentials or a Bearer token from the
    challenge's realm.
  - Never changes anything. Exists because no maintained module answers "is this tag in the registry" for both
    ECR and a plain registry without pulling.
author:
  - Stratum SRE (@stratum-sre)
options:
  kind:
    description:
      - Which API to ask (the inventory's C(stratum_registry.kind)).
    type: str
    choices: [ecr, plain]
    required: true
  url:
    description:
      - The registry as C(HOST[:PORT]) (no scheme), used in the references returned and, for O(kind=plain),
        the host asked.
      - Required for O(kind=plain).
    type: str
  images:
    description:
      - Image names, e.g. C(stratum/api). A registry host in front and a tag are ignored.
    type: list
    elements: str
    required: true
  tag:
    description:
      - The tag (release version) to look for.
    type: str
    required: true
  registry_id:
    description:
      - For O(kind=ecr), the AWS account of the registry when it is not the caller's.
    type: str
  insecure:
    description:
      - For O(kind=plain), talk plain HTTP to the registry (a registry without TLS, such as a local one).
    type: bool
    default: false
  username:
    description:
      - For O(kind=plain), the registry user when the registry requires authentication.
    type: str
  password:
    description:
      - For O(kind=plain), the registry password or token.
    type: str
  validate_certs:
    description:
      - For O(kind=plain) over HTTPS, verify the registry's certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds for one HTTP request to the registry.
    type: int
    default: 10
extends_documentation_fragment:
  - stratum.ops.attributes
  - stratum.ops.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - The AWS connection options are only used with O(kind=ecr).
seealso:
  - module: stratum.ops.ecr_login_info
  - module: community.docker.docker_image
"""

EXAMPLES = r"""
- name: Is 1.4.2 in ECR for both services
  stratum.ops.registry_image_info:
    kind: ecr
    images: [stratum/api, stratum/workers]
    tag: "1.4.2"
    region: eu-west-1
  register: stratum_images

- name: Is 1.4.2 in the staging registry
  stratum.ops.registry_image_info:
    kind: plain
    url: registry.staging.stratum.internal:5000
    images: [stratum/api]
    tag: "1.4.2"
"""

RETURN = r"""
images:
  description: One entry per image, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The image name as given.
      type: str
      sample: stratum/api
    repository:
      description: The repository path in the registry.
      type: str
      sample: stratum/api
    tag:
      description: The tag looked for.
      type: str
      sample: 1.4.2
    reference:
      description: The full reference, C(HOST[:PORT]/repository:tag) (without host when O(url) is not set).
      type: str
      sample: registry.example.com/stratum/api:1.4.2
    exists:
      description: Whether the registry has the tag.
      type: bool
    digest:
      description: The manifest digest (empty when missing).
      type: str
      sample: sha256:97fb68710871a6bb558f14112a39fe68f305863c72d86993fd74e743c354ec8d
    reason:
      description: Where the answer came from, in words.
      type: str
missing:
  description: References of the images that do not exist.
  returned: always
  type: list
  elements: str
source:
  description: The API asked, without credentials.
  returned: always
  type: str
  sample: ECR DescribeImages
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.stratum.ops.plugins.module_utils.ecs import aws_checks, botocore_config
from ansible_collections.stratum.ops.plugins.module_utils.registry import (
    RegistryError,
    check_registry_url,
    check_tag,
    ecr_image,
    image_facts,
    repository_name,
    v2_manifest,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import check_number, validate_module


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            kind=dict(type="str", choices=["ecr", "plain"], required=True),
            url=dict(type="str"),
            images=dict(type="list", elements="str", required=True),
            tag=dict(type="str", required=True),
            registry_id=dict(type="str"),
            insecure=dict(type="bool", default=False),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=10),
        ),
        required_if=[("kind", "plain", ["url"])],
        supports_check_mode=True,
    )
    p = module.params
    validate_module(
        module,
        aws_checks(p),
        [
            (check_registry_url, "url", p["url"]),
            (check_tag, "tag", p["tag"]),
            (check_number, "timeout", p["timeout"], 1, 300),
        ],
    )
    registry = p["url"] or ""
    try:
        names = [(name, repository_name(name, registry)) for name in p["images"]]
    except RegistryError as exc:
        module.fail_json(msg=f"images: {exc}")
    if not names:
        module.fail_json(msg="images must list at least one image name")
    images = []
    if p["kind"] == "ecr":
        source = "ECR DescribeImages"
        client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff(), config=botocore_config())
        for name, repository in names:
            try:
                found = ecr_image(client, repository, p["tag"], p["registry_id"])
            except Exception as exc:
                module.fail_json_aws(exc, msg=f"cannot describe ECR image {repository}:{p['tag']}")
            images.append(image_facts(name, registry, repository, p["tag"], found))
    else:
        source = f"registry API v2 at {'http' if p['insecure'] else 'https'}://{registry}"
        for name, repository in names:
            try:
                found = v2_manifest(
                    registry,
                    repository,
                    p["tag"],
                    insecure=p["insecure"],
                    username=p["username"] or "",
                    password=p["password"] or "",
                    validate_certs=p["validate_certs"],
                    timeout=p["timeout"],
                )
            except RegistryError as exc:
                module.fail_json(msg=str(exc), source=source)
            images.append(image_facts(name, registry, repository, p["tag"], found))
    module.exit_json(
        changed=False, images=images, missing=[i["reference"] for i in images if not i["exists"]], source=source
    )


if __name__ == "__main__":
    main()
