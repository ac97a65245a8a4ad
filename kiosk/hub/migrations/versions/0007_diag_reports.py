"""Installer diagnostic reports sent by kiosks (`kiosk diag --send`, the installer screen's export).

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diag_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("sent_by", sa.String(120), nullable=False),
        sa.Column("overall", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_diag_reports_device_id", "diag_reports", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_diag_reports_device_id", table_name="diag_reports")
    op.drop_table("diag_reports")
