"""Helpers for the stratum.ops PostgreSQL module tests (server: the module-scoped `postgres_server`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def pg(postgres_server):
    """An autocommit superuser connection to the test server; closed after the test."""
    conn = postgres_server.connect()
    conn.autocommit = True
    yield conn
    conn.close()
