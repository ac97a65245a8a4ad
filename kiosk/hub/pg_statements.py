"""The hub's hottest statements on PostgreSQL (a 代办 request's create, claim, start and complete), run on the
psycopg connection under SQLAlchemy's pool, in autocommit.

Each is one statement already (kiosk/hub/proxy_service.py); what this saves is per call: building a `text()`
clause and SQLAlchemy's execution context around the driver (about a sixth of the hub's CPU per 代办 call in
profiles, docs/performance.md), and psycopg's parsing of the query on every call (it caches that only for
statements of at most 50 parameters; the create has 54). A statement is compiled once, by SQLAlchemy's dialect,
into PostgreSQL's own `$1 … $n` placeholders, and runs on a raw cursor (`psycopg.RawCursor`, no parsing);
psycopg prepares it on the server after a few uses.
Errors keep SQLAlchemy's types (IntegrityError, OperationalError), and a connection that broke is dropped from
the pool, as SQLAlchemy does for its own statements.
"""
from __future__ import annotations

import asyncio
import re

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine


_PYFORMAT = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s|%%")


def to_numbered(pyformat: str) -> tuple[str, tuple[str, ...]]:
    """`… %(a)s … %(b)s … %(a)s …` (psycopg's named style) as `… $1 … $2 … $1 …` and the names in order."""
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PYFORMAT.sub(number, pyformat), tuple(names)


class PgStatements:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # a few dozen variants at most (claim filters, transition actions)
        self._compiled: dict[str, tuple[bytes, tuple[str, ...]]] = {}
        # each statement's column names, read once: psycopg builds its `description` anew on every access
        self._columns: dict[bytes, tuple[str, ...]] = {}

    def _query(self, sql: str) -> tuple[bytes, tuple[str, ...]]:
        done = self._compiled.get(sql)
        if done is None:
            query, names = to_numbered(str(text(sql).compile(dialect=self.engine.dialect)))
            done = self._compiled[sql] = (query.encode("utf-8"), names)
        return done

    def _row(self, query: bytes, cur, row: tuple | None) -> dict | None:
        if row is None:
            return None
        columns = self._columns.get(query)
        if columns is None:
            columns = self._columns[query] = tuple(c.name for c in cur.description)
        return dict(zip(columns, row))

    def one(self, sql: str, params: dict) -> dict | None:
        """The first row of `sql` (with `:name` parameters) as a dict, or None; committed when it returns."""
        query, names = self._query(sql)
        values = [params[n] for n in names]
        fairy = self.engine.raw_connection()
        try:
            raw = fairy.driver_connection
            raw.autocommit = True
            try:
                with psycopg.RawCursor(raw) as cur:
                    cur.execute(query, values)
                    has_rows = cur.pgresult is not None and cur.pgresult.nfields > 0
                    return self._row(query, cur, cur.fetchone() if has_rows else None)
            finally:
                if not raw.closed:
                    raw.autocommit = False
        except psycopg.Error as e:
            raw = fairy.driver_connection
            broken = raw is None or raw.closed or raw.broken
            if broken:
                fairy.invalidate(e)
            raise _sqlalchemy_error(query, params, e, broken) from e
        finally:
            fairy.close()


def libpq_url(engine: Engine) -> str:
    """The engine's database as libpq's own URL (its options, e.g. a search_path, come along), for psycopg."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlalchemy_error(query: bytes, params: dict, e: psycopg.Error, broken: bool) -> exc.DBAPIError:
    cls = (exc.IntegrityError if isinstance(e, psycopg.IntegrityError)
           else exc.OperationalError if isinstance(e, psycopg.OperationalError) else exc.DBAPIError)
    return cls(query, params, e, connection_invalidated=broken)


# The hot statements (a 代办 request's create, claim, start and complete) each have an index that serves them: the
# claim's pick walks the pool index and stops at its first free row; the question whether a lease lapsed reads the
# held requests' index; the rest are lookups by key. On a table PostgreSQL has not analysed yet (a new
# installation's first minute; a benchmark's new schema) the planner may take the queue to be a handful of rows
# and read the whole table and sort it instead, at every claim; psycopg prepares a statement after a few uses and
# PostgreSQL may keep that plan until the table is analysed. Measured (50 clerks, 10,000 requests): the
# database's CPU per request 1.7-3.9 ms from run to run, depending on when autovacuum first analysed the table,
# and 1.6 ms in every run with sequential scans left for when no index can serve (docs/performance.md).
INDEXES_FIRST = "SET enable_seqscan = off"


class AsyncPgStatements:
    """The same statements for handlers on the event loop, on psycopg's async connections in autocommit (kept
    here, at most `size` at once; a call beyond waits for one): no request thread, no hop to one and back.

    Connections belong to the event loop that opened them: a hub started again on a new loop (tests) opens new
    ones. A call cancelled while its statement runs (the client went away) closes its connection rather than
    hand out one with a statement in flight."""

    def __init__(self, statements: PgStatements, size: int = 8) -> None:
        self.statements = statements  # the compiled statements and column names, shared
        self.size = size
        self._conninfo = libpq_url(statements.engine)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[psycopg.AsyncConnection] = []
        self._slots: asyncio.Semaphore | None = None

    def _slots_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._slots is None:
            self._loop, self._idle, self._slots = loop, [], asyncio.Semaphore(self.size)
        return self._slots

    async def one(self, sql: str, params: dict) -> dict | None:
        """As `PgStatements.one`, awaited on the event loop."""
        query, names = self.statements._query(sql)
        values = [params[n] for n in names]
        async with self._slots_here():
            conn = self._idle.pop() if self._idle else None
            keep = False
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                    await conn.execute(INDEXES_FIRST)
                async with psycopg.AsyncRawCursor(conn) as cur:
                    await cur.execute(query, values)
                    has_rows = cur.pgresult is not None and cur.pgresult.nfields > 0
                    row = self.statements._row(query, cur, await cur.fetchone() if has_rows else None)
                keep = True
                return row
            except psycopg.Error as e:
                broken = conn is None or conn.closed or conn.broken
                keep = not broken and conn.info.transaction_status == TransactionStatus.IDLE
                raise _sqlalchemy_error(query, params, e, broken) from e
            finally:
                if conn is not None:
                    if keep:
                        self._idle.append(conn)
                    elif not conn.closed:
                        await _close_quietly(conn)

    async def close(self) -> None:
        """Close the kept connections (when the hub stops, on the loop that opened them)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)


async def _close_quietly(conn: psycopg.AsyncConnection) -> None:
    try:
        await conn.close()
    except (psycopg.Error, OSError, RuntimeError):  # RuntimeError: its loop is gone
        pass
