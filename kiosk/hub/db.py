"""Engines, sessions and migrations for the hub database (SQLite by default, PostgreSQL by URL)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import InvalidInput

MIGRATIONS = Path(__file__).with_name("migrations")


def default_db_url(data_dir: str | Path) -> str:
    path = Path(data_dir) / "hub" / "hub.db"
    return f"sqlite:///{path}"


def check_url(db_url: str) -> str:
    if not (db_url.startswith("sqlite:///") or db_url.startswith("postgresql")):
        raise InvalidInput(f"unsupported database URL {db_url.split('://')[0]}://…",
                           "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB")
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    return db_url


def make_engine(db_url: str) -> Engine:
    db_url = check_url(db_url)
    if db_url.startswith("sqlite"):
        path = db_url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(db_url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below), as pysqlite's own is deferred
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(db_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(db_url: str, revision: str = "heads") -> None:
    """Bring the schema to `revision` (default: every head) with the migrations shipped inside the package."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["db_url"] = check_url(db_url)
    command.upgrade(cfg, revision)
