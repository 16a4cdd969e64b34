"""The built collection holds what a user installs and nothing of the repository's own machinery."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
GALAXY = Path(sys.executable).with_name("ansible-galaxy")


@pytest.fixture(scope="module")
def built_members(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("build")
    subprocess.run(
        [str(GALAXY), "collection", "build", "--output-path", str(out), str(TOP)],
        check=True,
        capture_output=True,
        text=True,
    )
    (tarball,) = out.glob("stratum-ops-*.tar.gz")
    with tarfile.open(tarball) as tar:
        return {m.name for m in tar.getmembers()}


def on_disk(pattern: str) -> list[str]:
    return [str(p.relative_to(TOP)) for p in TOP.glob(pattern) if p.is_file()]


def test_build_ships_every_module_role_and_playbook(built_members):
    wanted = on_disk("plugins/**/*.py") + on_disk("roles/*/tasks/*.yml") + on_disk("playbooks/*.yml")
    wanted += ["meta/runtime.yml", "README.md", "MANIFEST.json", "FILES.json"]
    assert wanted, "the checkout has no plugins or roles: the test would prove nothing"
    missing = sorted(set(wanted) - built_members)
    assert not missing, f"missing from the built collection: {missing}"


def test_build_leaves_repository_machinery_out(built_members):
    kept_out = (
        "inventories/",
        "awx/",
        "scripts/",
        "tests/",
        "bench/",
        "extensions/molecule/",
        ".venv/",
        ".build/",
        ".hypothesis/",
    )
    leaked = sorted(m for m in built_members if m.startswith(kept_out) or "__pycache__" in m)
    assert not leaked, f"repository-only files in the built collection: {leaked[:20]}"


def test_build_ships_the_eda_event_source_and_rulebooks(built_members):
    # The decision environment installs the collection to get them.
    shipped = on_disk("extensions/eda/plugins/event_source/*.py") + on_disk("extensions/eda/rulebooks/*.yml")
    assert "extensions/eda/plugins/event_source/alertmanager.py" in shipped
    assert set(shipped) <= built_members
