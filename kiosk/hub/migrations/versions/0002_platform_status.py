"""Cases remember the platform's own status (受理/办理/办结), pushed by status callbacks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("platform_status", sa.String(16), nullable=True))
    op.create_index("ix_cases_case_no", "cases", ["case_no"])


def downgrade() -> None:
    op.drop_index("ix_cases_case_no", "cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("platform_status")
