"""Engines, sessions and migrations for the hub database (SQLite by default, PostgreSQL by URL)."""
from __future__ import annotations

from pathlib import Path

import logging
import re
import sqlite3
import threading
from typing import Callable, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import InvalidInput

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger("kiosk.hub.db")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables the hub's own role may only read and append to: nobody rewrites history through the hub.
APPEND_ONLY_TABLES = ("audit_events",)


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


SQLITE_POOL_SIZE = 40
PG_POOL_SIZE = 20
POOL_OVERFLOW = 10  # connections beyond the pool, closed when returned
CONNECT_TIMEOUT_S = 5


def make_engine(db_url: str, connections: int = 0) -> Engine:
    """The hub's engine. `connections`: how many threads of the hub may hold a connection at once (the app passes
    its request and platform-call threads and its workers); the pool keeps that many (on PostgreSQL, with its
    overflow), and never fewer than the defaults below."""
    db_url = check_url(db_url)
    if db_url.startswith("sqlite"):
        path = db_url[len("sqlite:///"):]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The pool keeps as many connections as the hub uses at once (request threads, the relay's deliveries,
        # the event loop's reads): a connection beyond the pool is closed when it is returned and the next one
        # opened again with its PRAGMAs, which at 16 kiosks happened on most requests.
        pooled = {"pool_size": max(SQLITE_POOL_SIZE, connections), "max_overflow": POOL_OVERFLOW} if on_disk else {}
        engine = create_engine(db_url, connect_args={"check_same_thread": False, "timeout": 30,
                                                     "factory": _SqliteConnection}, **pooled)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below), as pysqlite's own is deferred
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking on upgrade.
            # A session that only reads (read_only(session)) begins a deferred transaction: it never waits for
            # the write lock, and WAL lets it read beside the writer.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            # Writers of this process queue on a lock first, released once COMMIT or ROLLBACK has run: a thread
            # waiting in SQLite's busy handler sleeps in growing steps (up to 100 ms) and so wakes late, which
            # made intake fall as kiosks were added. The busy handler still arbitrates between processes. A thread
            # that already holds the lock (a nested write session, which SQLite could not serve either) falls back
            # to the busy handler after 30 s.
            dbapi_conn = conn.connection.dbapi_connection
            if writer.acquire(timeout=30):
                dbapi_conn.writer = writer
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer()
                raise

        return engine
    # No ping per checkout (a round trip on every request): a connection that died with the server is
    # replaced when it fails, and pooled connections are recycled before any idle timeout cuts them.
    # pool_size covers the requests one hub process serves at once (a few dozen clients): connections beyond it
    # are closed when returned, and opening a PostgreSQL connection costs a process and an authentication.
    # A server that went silent (a cable, a firewall) fails a new connection after 5 s, not the kernel's two
    # minutes of retries, so requests answer 503 promptly (kiosk/hub/db_errors.py) instead of piling up.
    connect = {} if "connect_timeout" in db_url else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(db_url, pool_size=max(PG_POOL_SIZE, connections - POOL_OVERFLOW), max_overflow=POOL_OVERFLOW,
                         pool_recycle=1800, connect_args=connect)


class _SqliteConnection(sqlite3.Connection):
    """A SQLite connection that gives back this process's writer lock (taken at BEGIN IMMEDIATE) once its
    COMMIT or ROLLBACK has run."""

    writer: threading.Lock | None = None

    def release_writer(self) -> None:
        lock, self.writer = self.writer, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def not_the_database(error: Exception) -> bool:
    """GroupCommit's `alone` for the hub's shared writes: a shared write that failed is worth writing again item by
    item (a lost insert race, one bad row), unless the database itself failed (OperationalError: away or
    saturated): then every caller gets the error at once."""
    return not isinstance(error, OperationalError)


def first_insert_wins(attempt: Callable[[], T], busy: Callable[[], Exception], tries: int = 3) -> T:
    """Run `attempt` (one transaction that answers the row an idempotency key already has, or inserts it) until
    it does not lose a race: when a concurrent retry with the same key inserts first, this try's insert raises
    IntegrityError and the next try finds the winner's row and answers it as a replay. After `tries` lost races
    `busy()` is raised (the other call is still at work: the client retries shortly)."""
    for _ in range(tries):
        try:
            return attempt()
        except IntegrityError:
            continue
    raise busy()


def earlier_or_taken(earlier: Callable[[], T | None], taken: Callable[[], bool]) -> tuple[T | None, bool]:
    """Inside an idempotent insert's transaction: the row its key already has (`earlier`), and whether the new
    row's own number (a receipt or request number) is taken. On PostgreSQL each statement sees what was committed
    when it began, so a concurrent retry with the same key may commit its row between the two reads: a taken
    number with no earlier row asks for that row again (it is the retry's replay, not another key's number)."""
    old = earlier()
    is_taken = taken()
    if old is None and is_taken:
        old = earlier()
    return old, is_taken


READ_ONLY = "govkiosk_read_only"


def read_only(session: Session) -> Session:
    """Mark a fresh session as one that only reads (call before its first query): on SQLite it then does not
    take the database's write lock. Writing through it on SQLite may fail with "database is locked"."""
    session.connection(execution_options={READ_ONLY: True})
    return session


def migrate(db_url: str, revision: str = "heads", app_role: str | None = None) -> None:
    """Bring the schema to `revision` (default: every head) with the migrations shipped inside the package.

    On PostgreSQL the upgrade holds an advisory lock (per schema), so hubs starting together on an empty
    database migrate one after the other instead of racing to create the same tables. With `app_role`, that
    role is then granted what the hub needs and no more (see `grant_app_role`)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    db_url = check_url(db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["db_url"] = db_url
    if not db_url.startswith("postgresql"):
        if app_role:
            raise InvalidInput("--app-role applies to PostgreSQL only",
                               "SQLite has no roles: protect the database file with file permissions")
        command.upgrade(cfg, revision)
        return
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            lock_key = "SELECT hashtext('govkiosk-migrate:' || current_schema())"
            conn.execute(text(f"SELECT pg_advisory_lock(({lock_key}))"))
            conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
                if app_role:
                    grant_app_role(conn, app_role)
                    conn.commit()
            finally:
                conn.rollback()
                conn.execute(text(f"SELECT pg_advisory_unlock(({lock_key}))"))
                conn.commit()
    finally:
        engine.dispose()


def grant_app_role(conn, role: str) -> None:
    """Let `role` (the one the hub runs as) read and write the hub's tables, but only read and append to the
    audit log; the tables stay owned by the migrating role, so `role` cannot alter them or their triggers."""
    if not _ROLE_NAME.match(role):
        raise InvalidInput(f"{role!r} is not a plain PostgreSQL role name", "use lower-case letters, digits and _")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if not exists:
        raise InvalidInput(f"PostgreSQL role {role} does not exist",
                           f"create it first: CREATE ROLE {role} LOGIN PASSWORD '…' (deploy/postgres-test.sh does)")
    owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()"
                              " AND tablename = 'audit_events'")).scalar()
    if owner == role:
        raise InvalidInput(f"role {role} owns the hub's tables, so it could alter its own audit trigger",
                           "run `kiosk hub migrate` as a separate owner role and give --app-role the hub's role")
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    q = f'"{schema}"'
    conn.execute(text(f"GRANT USAGE ON SCHEMA {q} TO {role}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q} TO {role}"))
    for table in APPEND_ONLY_TABLES:
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {q}.{table} FROM {role}"))
    conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON {q}.alembic_version FROM {role}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q} TO {role}"))


def owns_audit_log(engine: Engine) -> bool:
    """True when the connected PostgreSQL role could alter the audit table (it owns it or is a superuser)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') OR"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            " FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_events'")).scalar())
