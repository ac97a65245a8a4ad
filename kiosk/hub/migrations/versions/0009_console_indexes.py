"""Indexes for the supervisors' console: cases and 代办 events by time (statistics over a period).

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_device_created", "cases", ["device_id", "created_at"])  # one outlet subtree's kiosks
    op.create_index("ix_proxy_events_at", "proxy_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_proxy_events_at", table_name="proxy_events")
    op.drop_index("ix_cases_device_created", table_name="cases")
    op.drop_index("ix_cases_created_at", table_name="cases")
