# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared attribute descriptions: modules state only their support level and details."""

from __future__ import annotations


class ModuleDocFragment:
    # Every module: check mode and diff mode.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    # Read-only modules (the _info ones): they never change anything, so check mode is the same run.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: N/A
    details: Read-only; there is never a change to show.
  info:
    description: This module is read-only and only returns information.
    support: full
"""
