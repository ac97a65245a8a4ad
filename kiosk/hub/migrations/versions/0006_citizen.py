"""好差评 evaluations from kiosks and counters, with the rectification (整改) and follow-up call (回访) of a 差评.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("idem_client", sa.String(100), nullable=False),
        sa.Column("idem_key", sa.String(200), nullable=False),
        sa.Column("receipt_no", sa.String(40), nullable=True, index=True),
        sa.Column("request_no", sa.String(40), nullable=True, index=True),
        sa.Column("case_no", sa.String(64), nullable=True),
        sa.Column("item_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("item_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("outlet_code", sa.String(32), nullable=True, index=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("detail_codes", sa.JSON, nullable=False),
        sa.Column("text_enc", sa.LargeBinary, nullable=True),
        sa.Column("channel", sa.String(4), nullable=False),
        sa.Column("assess_number", sa.Integer, nullable=False, server_default="1"),
        sa.Column("proxied", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("agent_enc", sa.LargeBinary, nullable=True),
        sa.Column("agent_masked", sa.String(120), nullable=True),
        sa.Column("device_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("upload_state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("upload_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("upload_error", sa.Text, nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_evaluation_id", sa.String(64), nullable=True),
        sa.Column("rectification_status", sa.String(16), nullable=False, server_default="none"),
        sa.Column("rectification_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rectification_note", sa.Text, nullable=True),
        sa.Column("rectified_by", sa.String(100), nullable=True),
        sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revisit_status", sa.String(16), nullable=False, server_default="none"),
        sa.Column("revisit_result", sa.String(16), nullable=True),
        sa.Column("revisit_note", sa.Text, nullable=True),
        sa.Column("revisited_by", sa.String(100), nullable=True),
        sa.Column("revisited_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("idem_client", "idem_key", name="uq_evaluations_idem"),
    )


def downgrade() -> None:
    op.drop_table("evaluations")
