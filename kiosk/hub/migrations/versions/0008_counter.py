"""The outlet counter: clerk sessions (sign-in with ID card + PIN), wrong-PIN waits, pickup codes,
代发 hand-outs and 代收 collections.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("outlet_code", sa.String(32), nullable=False),
        sa.Column("device", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
    )
    op.create_table(
        "counter_pin_failures",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "counter_pickups",
        sa.Column("receipt_no", sa.String(40), primary_key=True),
        sa.Column("pickup_code", sa.String(8), nullable=False, unique=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "counter_handouts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("receipt_no", sa.String(40), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("recipient_id_hash", sa.String(64), nullable=False),
        sa.Column("recipient_name", sa.String(100), nullable=False),
        sa.Column("mandate_id", sa.Integer, nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("waybill_no", sa.String(40), nullable=True),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("clerk", sa.String(100), nullable=False),
        sa.Column("outlet_code", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "counter_collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("receipt_no", sa.String(40), nullable=False),
        sa.Column("case_no", sa.String(64), nullable=True),
        sa.Column("materials", sa.JSON, nullable=False),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("clerk", sa.String(100), nullable=False),
        sa.Column("outlet_code", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("client", "idempotency_key", name="uq_counter_collection_key"),
    )


def downgrade() -> None:
    for table in ("counter_collections", "counter_handouts", "counter_pickups", "counter_pin_failures",
                  "counter_sessions"):
        op.drop_table(table)
