"""重点项目 (enterprises' key projects): the project with its one 代办专员, its 档案 (dossier: linked proxy requests,
cases, notes, documents) and its event log; the dossier and the event log are append-only.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
APPEND_ONLY = ("key_project_entries", "key_project_events")


def upgrade() -> None:
    op.create_table(
        "key_projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_no", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("org_name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("contact_enc", sa.LargeBinary),
        sa.Column("contact_masked", sa.String(120), nullable=False),
        sa.Column("outlet_code", sa.String(32), sa.ForeignKey("outlets.code", name="fk_key_projects_outlet"),
                  nullable=False),
        sa.Column("specialist", sa.String(100)),
        sa.Column("specialist_person_id", sa.Integer),
        sa.Column("specialist_since", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("close_note", sa.Text),
        sa.Column("closed_by", sa.String(100)),
        sa.Column("closed_at", TS),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("idem_client", sa.String(100), nullable=False),
        sa.Column("idem_key", sa.String(200), nullable=False),
        sa.Column("idem_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("idem_client", "idem_key", name="uq_key_projects_idempotency"),
    )
    op.create_index("ix_key_projects_uscc", "key_projects", ["uscc"])
    op.create_index("ix_key_projects_outlet_code", "key_projects", ["outlet_code"])
    op.create_index("ix_key_projects_status", "key_projects", ["status"])
    op.create_table(
        "key_project_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("key_projects.id", name="fk_key_project_entries_project"),
                  nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        # A proxy request belongs to the 档案 of at most one key project: the database holds that rule.
        sa.Column("proxy_request_id", sa.Integer,
                  sa.ForeignKey("proxy_requests.id", name="fk_key_project_entries_request"), unique=True),
        sa.Column("receipt_no", sa.String(40)),
        sa.Column("upload_id", sa.String(40)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text_enc", sa.LargeBinary),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_key_project_entries_project_id", "key_project_entries", ["project_id"])
    op.create_index("ix_key_project_entries_receipt_no", "key_project_entries", ["receipt_no"])
    op.create_table(
        "key_project_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("key_projects.id", name="fk_key_project_events_project"),
                  nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("device", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_key_project_events_project_id", "key_project_events", ["project_id"])

    # The 档案 and the event log are append-only, like proxy_events: the database itself refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    else:
        op.execute("CREATE FUNCTION key_projects_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION key_projects_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION key_projects_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS key_projects_append_only()")
    for table in ("key_project_events", "key_project_entries", "key_projects"):
        op.drop_table(table)
