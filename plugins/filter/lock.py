# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The runbook lock's line in the report (the logic lives in module_utils/lock.py); documented in lock_note.yml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.module_utils.lock import lock_note as _lock_note


def lock_note(held: Any, **kwargs: Any) -> str:
    if held is not None and not isinstance(held, Mapping):
        raise AnsibleFilterError(f"lock_note: expects the runbook_lock result (a dict), got {type(held).__name__}")
    return _lock_note(dict(held or {}), **kwargs)


class FilterModule:
    """stratum.ops lock filters."""

    def filters(self) -> dict[str, Any]:
        return {"lock_note": lock_note}
