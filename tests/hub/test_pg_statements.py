"""kiosk.hub.pg_statements: the 代办 hot statements on the pooled psycopg connection — numbered placeholders,
many parameters, SQLAlchemy's error types, autocommit, and a connection that broke dropped from the pool."""
from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from kiosk.hub.db import make_engine
from kiosk.hub.pg_statements import PgStatements, to_numbered


def test_named_placeholders_become_numbered_once_per_name_and_percent_signs_unescaped():
    query, names = to_numbered("SELECT %(a)s, %(b)s, %(a)s, 'x%%' WHERE c = %(c_2)s")
    assert query == "SELECT $1, $2, $1, 'x%' WHERE c = $3"
    assert names == ("a", "b", "c_2")


@pytest.fixture
def pg(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("the raw statements are PostgreSQL's")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY, note text)"))
    yield engine, PgStatements(engine)
    engine.dispose()


def test_a_statement_with_more_than_fifty_parameters_runs_and_commits(pg):
    engine, statements = pg
    names = [f"p{i}" for i in range(60)]
    sql = ("INSERT INTO t (id, note) VALUES (:p0, CONCAT(" + ", ".join(f"CAST(:{n} AS text)" for n in names[1:])
           + ")) RETURNING id, note")
    row = statements.one(sql, {n: (7 if n == "p0" else "ab%"[i % 3]) for i, n in enumerate(names)})
    assert row["id"] == 7 and len(row["note"]) == 59
    with engine.connect() as conn:  # committed: another connection sees it
        assert conn.execute(text("SELECT note FROM t WHERE id = 7")).scalar() == row["note"]
    assert statements.one("SELECT note FROM t WHERE id = :id", {"id": 8}) is None


def test_errors_keep_sqlalchemy_types_and_the_connection_goes_back_usable(pg):
    engine, statements = pg
    statements.one("INSERT INTO t (id, note) VALUES (:id, 'a')", {"id": 1})
    with pytest.raises(exc.IntegrityError):
        statements.one("INSERT INTO t (id, note) VALUES (:id, 'b')", {"id": 1})
    with engine.connect() as conn:  # the pooled connection was handed back out of autocommit, with no open transaction
        conn.execute(text("INSERT INTO t (id, note) VALUES (2, 'c')"))
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_a_connection_the_server_dropped_is_replaced(pg, db_url):
    engine, statements = pg
    pid = statements.one("SELECT pg_backend_pid() AS pid", {})["pid"]
    admin = make_engine(db_url)  # not the pool under test: its next connection would be the one terminated
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    admin.dispose()
    with pytest.raises(exc.OperationalError) as failed:  # the pool's newest connection is the one dropped
        statements.one("SELECT 1 AS one", {})
    assert failed.value.connection_invalidated  # dropped from the pool, not handed out again
    assert statements.one("SELECT 1 AS one", {})["one"] == 1


def test_on_the_event_loop_the_same_statements_errors_and_a_cancelled_call_closes_its_connection(pg):
    import asyncio

    from kiosk.hub.pg_statements import AsyncPgStatements

    engine, statements = pg
    on_loop = AsyncPgStatements(statements, size=2)

    async def first_loop():
        row = await on_loop.one("INSERT INTO t (id, note) VALUES (:id, :note) RETURNING id, note", {"id": 1, "note": "a"})
        assert row == {"id": 1, "note": "a"}
        pid = (await on_loop.one("SELECT pg_backend_pid() AS pid", {}))["pid"]
        with pytest.raises(exc.IntegrityError):
            await on_loop.one("INSERT INTO t (id, note) VALUES (:id, 'b')", {"id": 1})
        assert (await on_loop.one("SELECT pg_backend_pid() AS pid", {}))["pid"] == pid  # kept, usable
        assert await on_loop.one("SELECT note FROM t WHERE id = :id", {"id": 9}) is None
        # the client went away while its statement ran: that connection is closed, not handed out again
        slow = asyncio.ensure_future(on_loop.one("SELECT pg_sleep(5), pg_backend_pid() AS pid", {}))
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert (await on_loop.one("SELECT pg_backend_pid() AS pid", {}))["pid"] != pid
        # at most `size` at once: the third call waits for a connection, then runs
        rows = await asyncio.gather(*(on_loop.one("SELECT pg_backend_pid() AS pid, pg_sleep(0.2)", {})
                                      for _ in range(3)))
        assert len({r["pid"] for r in rows}) <= 2
        await on_loop.close()

    asyncio.run(first_loop())
    with engine.connect() as conn:  # committed, and the kept connections closed with close()
        assert conn.execute(text("SELECT note FROM t")).scalars().all() == ["a"]
        assert conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_backend_pid()%'"
                                 " AND pid <> pg_backend_pid()")).scalar() == 0

    async def second_loop():  # a hub started again runs a new loop: new connections, the same statements
        return await on_loop.one("SELECT note FROM t WHERE id = :id", {"id": 1})

    assert asyncio.run(second_loop()) == {"note": "a"}
