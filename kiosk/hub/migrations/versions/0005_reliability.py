"""Reliability: the audit log becomes a hash chain and refuses REPLACE on SQLite; case personal fields get an
encrypted column; hub_settings (the shared upload volume's id); an index on uploads.bound_to.

Existing audit rows are chained here (the append-only triggers are lifted for the backfill only). Existing
cases are encrypted by the hub itself on start (kiosk.hub.case_fields.seal_plaintext_cases), because only the
hub holds the key.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_NO_REPLACE = ("CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
                      "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
                      "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")


def _backfill_chain(bind) -> None:
    from kiosk.hub.audit import GENESIS, row_hash

    events = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
                      sa.column("actor", sa.String), sa.column("entity", sa.String), sa.column("entity_id", sa.String),
                      sa.column("action", sa.String), sa.column("detail", sa.JSON),
                      sa.column("prev_hash", sa.String), sa.column("row_hash", sa.String))
    prev = GENESIS
    last_id = -1
    while True:
        rows = bind.execute(sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(2000)).all()
        if not rows:
            break
        for r in rows:
            h = row_hash(prev, r.at, r.actor, r.entity, r.entity_id, r.action, r.detail)
            bind.execute(events.update().where(events.c.id == r.id).values(prev_hash=prev, row_hash=h))
            prev = h
        last_id = rows[-1].id


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64)))
        batch.add_column(sa.Column("row_hash", sa.String(64)))
    _backfill_chain(bind)
    if sqlite:
        op.execute("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                   "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
        # INSERT OR REPLACE / REPLACE INTO delete the old row without firing the DELETE trigger (SQLite runs
        # delete triggers of a REPLACE only with recursive_triggers on): refuse any insert onto an existing id.
        op.execute(_SQLITE_NO_REPLACE)
    else:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")

    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("personal_enc", sa.LargeBinary))
    op.create_table(
        "hub_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_uploads_bound_to", "uploads", ["bound_to"])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_uploads_bound_to", "uploads")
    op.drop_table("hub_settings")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("personal_enc")
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
    if bind.dialect.name == "sqlite":
        op.execute("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                   "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
    else:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
