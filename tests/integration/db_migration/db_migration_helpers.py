"""Helpers for the db_migration tests: paths of the test Alembic project, the role variables of a run, and
alembic itself for setting up a database state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ALEMBIC_PROJECT = REPO / "tests" / "fixtures" / "alembic_project"
ALEMBIC = Path(sys.executable).parent / "alembic"


def role_vars(url: str, moto, tmp_path: Path, instance: str | None = None, **extra) -> dict:
    """Role variables for one run against the test project, PostgreSQL and moto."""
    return {
        "db_migration_project_dir": str(ALEMBIC_PROJECT),
        "db_migration_alembic_executable": str(ALEMBIC),
        "db_migration_database_url": url,
        "db_migration_artifact_dir": str(tmp_path / "artifacts"),
        "db_migration_rds_instance": instance or "",
        "db_migration_snapshot": instance is not None,
        "db_migration_aws": {"endpoint_url": moto.endpoint_url, "region": moto.region},
        "stratum_environment": "test",
        **extra,
    }


def alembic_upgrade_heads(url: str) -> None:
    """Bring a database to head with the test project's alembic itself (to set up a state, not to test the role)."""
    proc = subprocess.run(
        [str(ALEMBIC), "-c", str(ALEMBIC_PROJECT / "alembic.ini"), "upgrade", "heads"],
        cwd=ALEMBIC_PROJECT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
