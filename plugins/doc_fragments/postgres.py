# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every stratum.ops PostgreSQL module (named as community.postgresql names them).
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host running PostgreSQL.
      - Defaults to the E(PGHOST) environment variable; without it, the Unix socket (or V(localhost)) is used.
    type: str
    aliases: [host]
  login_port:
    description:
      - Port PostgreSQL listens on.
      - Defaults to the E(PGPORT) environment variable, then V(5432).
    type: int
    aliases: [port]
  login_user:
    description:
      - Role to connect as.
      - Defaults to the E(PGUSER) environment variable, then V(postgres).
    type: str
    aliases: [login, user]
  login_password:
    description:
      - Password of O(login_user).
      - Defaults to the E(PGPASSWORD) environment variable; never logged.
    type: str
  login_db:
    description:
      - Database to connect to.
      - Defaults to the E(PGDATABASE) environment variable, then V(postgres).
    type: str
    aliases: [db, database_name]
  login_unix_socket:
    description:
      - Directory of the Unix socket to connect through instead of TCP (used when O(login_host) is empty).
    type: str
  ssl_mode:
    description:
      - libpq SSL mode.
      - Defaults to the E(PGSSLMODE) environment variable, then V(prefer).
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file to verify the server with.
      - Defaults to the E(PGSSLROOTCERT) environment variable.
    type: str
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for the connection to be established.
      - Defaults to the E(PGCONNECT_TIMEOUT) environment variable, then V(10).
    type: int
requirements:
  - psycopg2 on the host that runs the module
notes:
  - The options can be set once for a play with C(module_defaults) and the C(group/stratum.ops.postgres) action group.
"""
