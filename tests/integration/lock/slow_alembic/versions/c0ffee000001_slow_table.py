"""a slow migration: the runbook holds its lock while it runs

Revision ID: c0ffee000001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "c0ffee000001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT pg_sleep(4)")
    op.create_table("lock_proof", sa.Column("note", sa.String(64), nullable=False))
    op.execute("INSERT INTO lock_proof (note) VALUES ('migrated once')")


def downgrade() -> None:
    op.drop_table("lock_proof")
