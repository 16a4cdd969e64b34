# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every stratum.ops Redis module.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Redis URL, V(redis://[[username]:password@]host[:port][/db]) or V(rediss://...) for TLS.
      - Defaults to the E(REDIS_URL) environment variable. When set, O(host) and O(port) are ignored;
        the database number in the URL path wins over O(db); O(username) and O(password), when given,
        win over the credentials in the URL.
      - A URL path that is not a database number (V(redis://host/abc)) and unknown or non-numeric query
        parameters (V(?socket_timeout=abc)) are refused rather than read as database 0.
      - Never logged, since it may carry a password.
    type: str
  host:
    description:
      - Redis host name or IP address, used when O(url) is not set.
    type: str
    default: localhost
  port:
    description:
      - Redis port (1-65535), used when O(url) is not set. V(0) is refused, never read as the default port.
    type: int
    default: 6379
  db:
    description:
      - Database number (0 or more).
    type: int
    default: 0
  username:
    description:
      - ACL user (Redis 6+). Without it the C(default) user is used.
    type: str
  password:
    description:
      - Password of O(username) (or the C(requirepass) password). Never logged.
    type: str
  tls:
    description:
      - Connect with TLS. Implied by a V(rediss://) O(url).
    type: bool
    default: false
  ca_certs:
    description:
      - CA bundle file to verify the server certificate with.
    type: path
  validate_certs:
    description:
      - Verify the server certificate when using TLS.
    type: bool
    default: true
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection, more than 0 and at most 3600.
    type: float
    default: 5
  command_timeout:
    description:
      - Seconds to wait for the reply to each command (PING included), more than 0 and at most 3600.
      - A server that stops answering fails the module after about O(connect_timeout) plus O(command_timeout).
    type: float
    default: 30
requirements:
  - redis (redis-py) >= 4.0 on the host that runs the module
notes:
  - The options can be set once for a play with C(module_defaults) and the C(group/stratum.ops.redis) action group.
  - Tested with Redis 7 standalone servers, the default user with C(requirepass) and ACL users.
  - Redis Cluster is not supported; point the modules at a standalone server or the primary of a replicated pair.
    Against a cluster node they fail with a message saying so.
"""
