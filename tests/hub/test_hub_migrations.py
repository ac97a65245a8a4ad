"""Alembic migrations: upgrading a database that already holds cases keeps them (both engines)."""
from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from kiosk.hub.db import MIGRATIONS, check_url, migrate


def _heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def test_upgrade_from_the_first_schema_keeps_data(db_url):
    migrate(db_url, "0001")
    engine = create_engine(check_url(db_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO cases (receipt_no, device_id, channel, item_code, item_name, applicant_name,"
                " applicant_id_number, applicant_card_type, applicant_phone, applicant_address, form, materials,"
                " delivery, submitted_at, status, attempts, next_attempt_at, created_by, created_at, updated_at)"
                " VALUES ('K0001-20261122-0001', 'K0001', 'kiosk', 'X', 'x', 'n', 'i', '111', '', '', '{}', '[]',"
                " '自取', '2026-11-22T10:00:00+08:00', 'queued', 0, CURRENT_TIMESTAMP, 'kiosk:K0001',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        migrate(db_url)
        migrate(db_url)  # idempotent
        assert "platform_status" in {c["name"] for c in inspect(engine).get_columns("cases")}
        assert {"escpos", "sha256", "stored_by"} <= {c["name"] for c in inspect(engine).get_columns("receipt_copies")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT receipt_no FROM cases")).scalar() == "K0001-20261122-0001"
            versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        assert versions == _heads()  # every branch (0004 proxy, 0005 …) upgraded to its head
        tables = set(inspect(engine).get_table_names())
        assert {"outlets", "people", "proxy_requests", "proxy_mandates", "proxy_events"} <= tables
        assert {"outlet_code", "person_id", "expires_at"} <= {c["name"] for c in inspect(engine).get_columns("api_tokens")}
    finally:
        engine.dispose()
