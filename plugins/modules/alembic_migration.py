#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: alembic_migration
short_description: Report, upgrade or downgrade a database schema with Alembic, verified, without leaking the URL
version_added: 0.1.0
description:
  - Runs the C(alembic) command line of a project (C(alembic current), C(heads), C(history), C(upgrade), C(downgrade))
    in O(project_dir), as the runbook's "Database Migration" does.
  - The database URL is passed to alembic only through its environment (O(url_env_var), what the project's
    C(env.py) reads), never on a command line; every text the module returns is scrubbed of the URL and its password.
  - O(action=upgrade) is idempotent; a database already at the target reports C(changed=false). After upgrading it reads
    C(alembic current) back and fails unless the database is at the target (C(heads) by default).
  - O(action=downgrade) to an explicit revision is idempotent; the relative default V(-1) goes one revision further
    down at each run.
  - O(sql=true) also returns the offline SQL (C(--sql)) of what would run, from the current revision to the target;
    offline mode never connects, so it also runs in check mode.
  - In check mode, reads the current and head revisions and reports what would run, changing nothing.
author:
  - Stratum SRE (@stratum-sre)
options:
  project_dir:
    description: Directory of the Alembic project (where C(alembic.ini) lives); alembic runs there.
    type: path
    required: true
  config:
    description: Alembic config file, relative to O(project_dir) or absolute.
    type: str
    default: alembic.ini
  executable:
    description:
      - The C(alembic) program; a name looked up in C(PATH) or a path. Use the one in the application's virtualenv,
        since the project's C(env.py) imports the application.
    type: str
    default: alembic
  database_url:
    description:
      - Database URL handed to alembic in the environment variable O(url_env_var).
      - Defaults to the C(DATABASE_URL) environment variable of the module; when neither is set, the project's own
        configuration decides.
    type: str
  url_env_var:
    description: Name of the environment variable the project's C(env.py) reads the URL from.
    type: str
    default: DATABASE_URL
  action:
    description:
      - V(status) reports the current and head revisions and what is pending, changing nothing.
      - V(upgrade) upgrades to O(revision) (default V(heads)) and verifies.
      - V(downgrade) downgrades to O(revision) (default V(-1), one revision; V(base) for none) and verifies.
    type: str
    choices: [status, upgrade, downgrade]
    default: status
  revision:
    description: Target revision; V(heads) for O(action=upgrade) and V(-1) for O(action=downgrade) when omitted.
    type: str
  sql:
    description: Also return the offline SQL of the upgrade or downgrade that is (or would be) run.
    type: bool
    default: false
extends_documentation_fragment:
  - stratum.ops.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Needs alembic installed where O(executable) points; the module itself only runs it.
"""

EXAMPLES = r"""
- name: What is pending
  stratum.ops.alembic_migration:
    project_dir: /srv/stratum/backend
    database_url: "{{ database_url }}"
  register: schema

- name: Upgrade to head and verify
  stratum.ops.alembic_migration:
    project_dir: /srv/stratum/backend
    executable: /srv/stratum/.venv/bin/alembic
    database_url: "{{ database_url }}"
    action: upgrade
    sql: true

- name: Roll back one migration
  stratum.ops.alembic_migration:
    project_dir: /srv/stratum/backend
    database_url: "{{ database_url }}"
    action: downgrade
    revision: "-1"
"""

RETURN = r"""
action:
  description: The action run.
  returned: always
  type: str
  sample: upgrade
current:
  description: Revisions the database was at before (empty list = base).
  returned: always
  type: list
  elements: str
  sample: ["1a2b3c4d5e6f"]
heads:
  description: Head revisions of the migration scripts.
  returned: always
  type: list
  elements: str
  sample: ["9f8e7d6c5b4a"]
at_head:
  description: Whether the database is (after the action; in check mode, before) at the heads.
  returned: always
  type: bool
target:
  description: The revision the action goes to (V(base) for none).
  returned: always
  type: str
  sample: heads
pending:
  description: Revisions an upgrade applies (or would), oldest first.
  returned: always
  type: list
  elements: dict
  sample: [{"revision": "9f8e7d6c5b4a", "down_revision": "1a2b3c4d5e6f", "message": "add orders"}]
before:
  description: Revisions before the action.
  returned: always
  type: list
  elements: str
after:
  description: Revisions after the action (read back); in check mode, the revisions it would end at.
  returned: always
  type: list
  elements: str
sql:
  description: Offline SQL of the upgrade or downgrade, when O(sql=true) and there is something to run.
  returned: when sql is true and the database is not at the target
  type: str
commands:
  description: The alembic commands run (without the URL, which only travels in the environment).
  returned: always
  type: list
  elements: str
  sample: ["alembic current", "alembic heads", "alembic upgrade heads"]
"""

import os

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.stratum.ops.plugins.module_utils.alembic import (
    Alembic,
    AlembicError,
    alembic_checks,
    plan_and_apply,
)
from ansible_collections.stratum.ops.plugins.module_utils.validation import validate_module


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            config=dict(type="str", default="alembic.ini"),
            executable=dict(type="str", default="alembic"),
            database_url=dict(type="str", no_log=True, fallback=(env_fallback, ["DATABASE_URL"])),
            url_env_var=dict(type="str", default="DATABASE_URL"),
            action=dict(type="str", default="status", choices=["status", "upgrade", "downgrade"]),
            revision=dict(type="str"),
            sql=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    validate_module(module, alembic_checks(params))
    if not os.path.isdir(params["project_dir"]):
        module.fail_json(msg=f"alembic project directory {params['project_dir']} does not exist")
    config = os.path.join(params["project_dir"], params["config"])
    if not os.path.isfile(config):
        module.fail_json(msg=f"alembic config {config} not found")
    executable = params["executable"]
    if os.sep not in executable:
        executable = module.get_bin_path(executable, required=False)
        if not executable:
            module.fail_json(msg=f"{params['executable']} not found in PATH; set executable to the alembic to run")
    elif not os.access(executable, os.X_OK):
        module.fail_json(msg=f"alembic executable {executable} does not exist or is not executable")

    def run(argv: list[str], cwd: str, env: dict[str, str]) -> tuple[int, str, str]:
        return module.run_command(argv, cwd=cwd, environ_update=env)

    alembic = Alembic(
        run,
        params["project_dir"],
        executable=[executable],
        config=params["config"],
        database_url=params["database_url"],
        url_env_var=params["url_env_var"],
    )
    try:
        result = plan_and_apply(
            alembic, params["action"], revision=params["revision"], sql=params["sql"], check_mode=module.check_mode
        )
    except AlembicError as exc:
        module.fail_json(msg=str(exc), commands=alembic.commands)
    module.exit_json(commands=alembic.commands, **result)


if __name__ == "__main__":
    main()
