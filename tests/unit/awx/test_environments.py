"""execution-environment.yml and decision-environment.yml: `ansible-builder create` writes a build context
(offline, no container engine) that holds this collection, its Python requirements and system packages.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version.strip()
    return pins


@pytest.fixture(scope="module")
def contexts(tmp_path_factory) -> dict[str, Path]:
    """Both build contexts, created the way the files' own comments say, in a scratch copy."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "decision-environment.yml", "bindep.txt", "meta/ee-requirements.txt"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, work / name)
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", work / ".build/ee", REPO],
        check=True,
        capture_output=True,
    )
    out = {}
    for kind in ("execution", "decision"):
        ctx = work / f"context-{kind}"
        proc = subprocess.run(
            [BIN / "ansible-builder", "create", "-f", f"{kind}-environment.yml", "-c", ctx],
            cwd=work,
            capture_output=True,
            check=False,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out[kind] = ctx
    return out


def _collection_files(ctx: Path) -> set[str]:
    tarballs = list((ctx / "_build/collections").glob("stratum-ops-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        assert manifest["collection_info"]["namespace"] == "stratum" and manifest["collection_info"]["name"] == "ops"
        return set(tar.getnames())


@pytest.mark.parametrize("kind", ["execution", "decision"])
def test_the_context_installs_this_collection(contexts, kind):
    ctx = contexts[kind]
    files = _collection_files(ctx)
    requirements = yaml.safe_load((ctx / "_build/requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "/build/collections/stratum-ops.tar.gz", "type": "file"}]
    dockerfile = (ctx / "Dockerfile").read_text()
    assert "COPY _build/collections/ /build/collections/" in dockerfile
    assert "ansible-galaxy collection install" in dockerfile and "ansible-core==2.21.5" in dockerfile
    # what ansible-builder introspects inside the image comes with the collection
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "bindep.txt"} <= files
    if kind == "decision":
        assert "extensions/eda/plugins/event_source/alertmanager.py" in files
        assert "extensions/eda/rulebooks/alerts_to_triage.yml" in files


def test_the_execution_environment_brings_the_python_libraries_and_clients(contexts):
    ctx = contexts["execution"]
    pins = _pins(ctx / "_build/requirements.txt")
    for lib in ("redis", "psycopg2-binary", "boto3", "kubernetes", "celery", "alembic"):
        assert lib in pins, lib
    bindep = (ctx / "_build/bindep.txt").read_text()
    assert "postgresql-client [platform:dpkg]" in bindep and "redis-tools [platform:dpkg]" in bindep
    assert "postgresql [platform:rpm]" in bindep and "redis [platform:rpm]" in bindep
    assert "/output/scripts/assemble" in (ctx / "Dockerfile").read_text()


def test_the_decision_environment_brings_ansible_rulebook_and_java(contexts):
    ctx = contexts["decision"]
    assert {"ansible-rulebook", "aiohttp"} <= set(_pins(ctx / "_build/requirements.txt"))
    assert "java-17-openjdk-headless [platform:rpm]" in (ctx / "_build/bindep.txt").read_text()


def test_ee_pins_are_the_ones_ci_tests():
    tested = _pins(REPO / "requirements.txt")
    for name, version in _pins(REPO / "meta/ee-requirements.txt").items():
        assert tested.get(name) == version, f"{name}=={version} in the EE, {tested.get(name)} in requirements.txt"
    meta = yaml.safe_load((REPO / "meta/execution-environment.yml").read_text())
    assert meta["version"] == 1
    assert all((REPO / path).is_file() for path in meta["dependencies"].values())
