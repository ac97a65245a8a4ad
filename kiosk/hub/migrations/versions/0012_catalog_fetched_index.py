"""The catalog's freshness stamp (count and oldest fetch time, read on every catalog request) from an index instead
of a scan of every cached item's JSON.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_catalog_fetched_at", "catalog", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_catalog_fetched_at", table_name="catalog")
