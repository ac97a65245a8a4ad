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

import re

import psycopg
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
                    result = cur.pgresult
                    if result is None or result.nfields == 0:
                        return None
                    row = cur.fetchone()
                    if row is None:
                        return None
                    columns = self._columns.get(query)
                    if columns is None:
                        columns = self._columns[query] = tuple(c.name for c in cur.description)
                    return dict(zip(columns, row))
            finally:
                if not raw.closed:
                    raw.autocommit = False
        except psycopg.Error as e:
            raw = fairy.driver_connection
            broken = raw is None or raw.closed or raw.broken
            if broken:
                fairy.invalidate(e)
            cls = (exc.IntegrityError if isinstance(e, psycopg.IntegrityError)
                   else exc.OperationalError if isinstance(e, psycopg.OperationalError) else exc.DBAPIError)
            raise cls(query, params, e, connection_invalidated=broken) from e
        finally:
            fairy.close()
