"""The supervisors' console: indexes on cases and 代办 events by time (statistics over a period), and the daily
rollups of applications that periods longer than a month read on PostgreSQL (kiosk/hub/console/rollup.py).

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_device_created", "cases", ["device_id", "created_at"])  # one outlet subtree's kiosks
    op.create_index("ix_proxy_events_at", "proxy_events", ["at"])
    day = lambda: sa.Column("day", sa.String(10), primary_key=True)  # noqa: E731 - CST calendar day, YYYY-MM-DD
    op.create_table("console_case_days", day(), sa.Column("device_id", sa.String(32), primary_key=True),
                    sa.Column("channel", sa.String(16), primary_key=True), sa.Column("n", sa.Integer, nullable=False),
                    sa.Column("finished", sa.Integer, nullable=False), sa.Column("in_time", sa.Integer, nullable=False))
    op.create_table("console_item_days", day(), sa.Column("item_code", sa.String(64), primary_key=True),
                    sa.Column("item_name", sa.String(200), nullable=False), sa.Column("n", sa.Integer, nullable=False))
    op.create_table("console_duration_days", day(), sa.Column("bucket", sa.Integer, primary_key=True),
                    sa.Column("n", sa.Integer, nullable=False))
    op.create_table("console_rollup_days", day(), sa.Column("built_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    for name in ("console_rollup_days", "console_duration_days", "console_item_days", "console_case_days"):
        op.drop_table(name)
    op.drop_index("ix_proxy_events_at", table_name="proxy_events")
    op.drop_index("ix_cases_device_created", table_name="cases")
    op.drop_index("ix_cases_created_at", table_name="cases")
