"""Every integration test gets a runbook-lock directory of its own (STRATUM_LOCK_DIR, read by the notify role).

Changing runs take the lock of (environment, service or runbook) by default; tests run two at a time (pytest -n 2)
with the same environment names ("test", "local"), so a shared ~/.stratum-ops/locks would let one test's run refuse
another's. Module-scoped fixtures that run playbooks get their pytest worker's directory, each test its own.
Environments with Redis lock in their own throwaway Redis already. A test about the lock itself passes its own
STRATUM_LOCK_DIR (or stratum_lock_dir) to the runs it wants to contend.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def stratum_lock_dir_of_this_worker(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRATUM_LOCK_DIR", str(tmp_path_factory.mktemp("worker-locks")))
        yield


@pytest.fixture(autouse=True)
def stratum_lock_dir(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("locks")
    monkeypatch.setenv("STRATUM_LOCK_DIR", str(path))
    return path
