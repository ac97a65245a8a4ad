"""The counter, second part: pickup codes chosen when a case is filed (printed on the citizen's 受理回执; the hub
keeps only their HMAC, bound to the case) and the delivery of 代收 collections to the platform as supplementary
materials (a lease and retries per collection, like the case relay).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "counter_pickup_hashes",
        sa.Column("receipt_no", sa.String(40), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("counter_collections") as batch:
        batch.add_column(sa.Column("relay_status", sa.String(16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("relay_attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("relay_next_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("relay_locked_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("relay_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("relay_error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_counter_collections_relay", "counter_collections", ["relay_status", "relay_next_at"])


def downgrade() -> None:
    op.drop_index("ix_counter_collections_relay", table_name="counter_collections")
    with op.batch_alter_table("counter_collections") as batch:
        for name in ("delivered_at", "relay_error", "relay_lease_until", "relay_locked_by", "relay_next_at",
                     "relay_attempts", "relay_status"):
            batch.drop_column(name)
    op.drop_table("counter_pickup_hashes")
