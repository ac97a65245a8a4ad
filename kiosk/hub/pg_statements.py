"""The hub's hottest statements on PostgreSQL (a 代办 request's create, claim, start and complete), run on the
psycopg connection under SQLAlchemy's pool, in autocommit.

Each is one statement already (kiosk/hub/proxy_service.py); what this saves is per call: building a `text()`
clause and SQLAlchemy's execution context around the driver (about a sixth of the hub's CPU per 代办 call in
profiles, docs/performance.md). A statement is compiled once, by SQLAlchemy's dialect (so `:name` parameters,
casts and `%` signs are written as psycopg expects), and psycopg prepares it on the server after a few uses.
Errors keep SQLAlchemy's types (IntegrityError, OperationalError), and a connection that broke is dropped from
the pool, as SQLAlchemy does for its own statements.
"""
from __future__ import annotations

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine


class PgStatements:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._compiled: dict[str, str] = {}  # a few dozen variants at most (filters, actions)

    def _query(self, sql: str) -> str:
        query = self._compiled.get(sql)
        if query is None:
            query = self._compiled[sql] = str(text(sql).compile(dialect=self.engine.dialect))
        return query

    def one(self, sql: str, params: dict) -> dict | None:
        """The first row of `sql` (with `:name` parameters) as a dict, or None; committed when it returns."""
        query = self._query(sql)
        fairy = self.engine.raw_connection()
        try:
            raw = fairy.driver_connection
            raw.autocommit = True
            try:
                with raw.cursor(row_factory=dict_row) as cur:
                    cur.execute(query, params)
                    return cur.fetchone() if cur.description is not None else None
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
