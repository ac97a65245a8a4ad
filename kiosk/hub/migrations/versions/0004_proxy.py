"""代办: outlets, people, proxy requests, 委托书 (mandates), their append-only event log; tokens bound to an outlet.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outlets",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(32), sa.ForeignKey("outlets.code", name="fk_outlets_parent")),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("hours", sa.String(200), nullable=False, server_default=""),
        sa.Column("address", sa.String(300), nullable=False, server_default=""),
        sa.Column("phone", sa.String(32), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_outlets_parent_code", "outlets", ["parent_code"])
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("outlet_code", sa.String(32), sa.ForeignKey("outlets.code", name="fk_people_outlet"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("id_number_hash", sa.String(64)),
        sa.Column("pin_hash", sa.String(200)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_people_outlet_code", "people", ["outlet_code"])
    op.create_index("ix_people_id_number_hash", "people", ["id_number_hash"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("outlet_code", sa.String(32)))
        batch.add_column(sa.Column("person_id", sa.Integer))
        batch.add_column(sa.Column("expires_at", TS))
    op.create_table(
        "proxy_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_no", sa.String(40), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(32)),
        sa.Column("outlet_code", sa.String(32), sa.ForeignKey("outlets.code", name="fk_proxy_requests_outlet"),
                  nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("applicant_type", sa.String(8), nullable=False),
        sa.Column("applicant_enc", sa.LargeBinary, nullable=False),
        sa.Column("applicant_masked", sa.String(120), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary, nullable=False),
        sa.Column("phone_masked", sa.String(32), nullable=False),
        sa.Column("address_enc", sa.LargeBinary),
        sa.Column("details_enc", sa.LargeBinary),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("priority_rank", sa.Integer, nullable=False),
        sa.Column("green_reason", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(100)),
        sa.Column("holder_token_id", sa.Integer),
        sa.Column("holder_person_id", sa.Integer),
        sa.Column("lease_until", TS),
        sa.Column("claims", sa.Integer, nullable=False),
        sa.Column("sla_days", sa.Integer, nullable=False),
        sa.Column("sla_due_at", TS, nullable=False),
        sa.Column("sla_budget_s", sa.Integer, nullable=False),
        sa.Column("sla_paused_s", sa.Integer, nullable=False),
        sa.Column("sla_paused_at", TS),
        sa.Column("sla_stage", sa.Integer, nullable=False),
        sa.Column("sla_stopped_at", TS),
        sa.Column("receipt_no", sa.String(40)),
        sa.Column("materials", sa.JSON, nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_by_token", sa.Integer, nullable=False),
        sa.Column("idem_client", sa.String(100), nullable=False),
        sa.Column("idem_key", sa.String(200), nullable=False),
        sa.Column("idem_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.UniqueConstraint("idem_client", "idem_key", name="uq_proxy_requests_idempotency"),
    )
    op.create_index("ix_proxy_requests_outlet_code", "proxy_requests", ["outlet_code"])
    op.create_index("ix_proxy_requests_status", "proxy_requests", ["status"])
    op.create_index("ix_proxy_requests_sla_due_at", "proxy_requests", ["sla_due_at"])
    op.create_index("ix_proxy_requests_receipt_no", "proxy_requests", ["receipt_no"])
    op.create_index("ix_proxy_requests_created_by", "proxy_requests", ["created_by"])
    op.create_index("ix_proxy_requests_created_at", "proxy_requests", ["created_at"])
    # The claim query walks the pool best first (green, then oldest): a partial index holds only the pool, so the
    # walk never passes requests that are held or closed however many accumulate.
    pool = sa.text("status IN ('new', 'released')")
    op.create_index("ix_proxy_requests_pool", "proxy_requests", ["priority_rank", "created_at", "id"],
                    postgresql_where=pool, sqlite_where=pool)
    # The sweeper's walks: held requests by lease end, running ones by due time.
    op.create_index("ix_proxy_requests_lease_until", "proxy_requests", ["lease_until"])
    op.create_table(
        "proxy_mandates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("proxy_requests.id", name="fk_proxy_mandates_request"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scope_items", sa.JSON, nullable=False),
        sa.Column("scope_text", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("principal_enc", sa.LargeBinary, nullable=False),
        sa.Column("principal_masked", sa.String(120), nullable=False),
        sa.Column("agent_enc", sa.LargeBinary),
        sa.Column("agent_masked", sa.String(120)),
        sa.Column("agent_person_id", sa.Integer),
        sa.Column("signature_enc", sa.LargeBinary),
        sa.Column("signature_sha256", sa.String(64)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_proxy_mandates_request_id", "proxy_mandates", ["request_id"])
    op.create_table(
        "proxy_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("proxy_requests.id", name="fk_proxy_events_request"),
                  nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("device", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_proxy_events_request_id", "proxy_events", ["request_id"])

    # The event log is append-only, like audit_events: the database itself refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER proxy_events_no_{verb.lower()} BEFORE {verb} ON proxy_events "
                       "BEGIN SELECT RAISE(ABORT, 'proxy_events is append-only'); END")
    else:
        op.execute("CREATE FUNCTION proxy_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'proxy_events is append-only'; END $$")
        op.execute("CREATE TRIGGER proxy_events_no_change BEFORE UPDATE OR DELETE ON proxy_events "
                   "FOR EACH ROW EXECUTE FUNCTION proxy_events_append_only()")
        op.execute("CREATE TRIGGER proxy_events_no_truncate BEFORE TRUNCATE ON proxy_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION proxy_events_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS proxy_events_no_truncate ON proxy_events")
        op.execute("DROP TRIGGER IF EXISTS proxy_events_no_change ON proxy_events")
        op.execute("DROP FUNCTION IF EXISTS proxy_events_append_only()")
    for table in ("proxy_events", "proxy_mandates", "proxy_requests"):
        op.drop_table(table)
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("person_id")
        batch.drop_column("outlet_code")
    op.drop_table("people")
    op.drop_table("outlets")
