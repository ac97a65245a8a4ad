"""A copy of each case's printed receipt (ESC/POS bytes) for a clerk's reprint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_copies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("receipt_no", sa.String(40), sa.ForeignKey("cases.receipt_no", name="fk_receipt_copies_case"),
                  nullable=False, unique=True),
        sa.Column("escpos", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipt_copies")
