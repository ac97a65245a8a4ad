"""The few SQL expressions that PostgreSQL and SQLite spell differently (dates in CST, durations, percentiles)."""
from __future__ import annotations

from sqlalchemy import Float, cast, func, literal_column, select
from sqlalchemy.sql import ColumnElement


def is_pg(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def cst_day(session, column) -> ColumnElement:
    """The calendar day (YYYY-MM-DD text) in China Standard Time of a timestamp column."""
    if is_pg(session):
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "+8 hours")


def seconds_between(session, start, end) -> ColumnElement:
    if is_pg(session):
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def percentiles(session, base_query, duration, fractions=(0.5, 0.9)) -> list[float | None]:
    """The given percentiles of `duration` over the rows of `base_query` (a Select whose WHERE picks the rows).

    PostgreSQL computes them in one pass (percentile_cont); SQLite has no ordered-set aggregates, so each one is
    a single `ORDER BY … LIMIT 1 OFFSET k` query (nearest rank), still inside the database."""
    if is_pg(session):
        cols = [func.percentile_cont(f).within_group(duration) for f in fractions]
        row = session.execute(base_query.with_only_columns(*cols)).one()
        return [None if v is None else float(v) for v in row]
    n = session.scalar(base_query.with_only_columns(func.count()))
    out: list[float | None] = []
    for f in fractions:
        if not n:
            out.append(None)
            continue
        k = max(0, min(n - 1, int(round(f * (n - 1)))))
        v = session.scalar(base_query.with_only_columns(cast(duration, Float).label("d")).order_by(literal_column("d")).limit(1).offset(k))
        out.append(None if v is None else float(v))
    return out


__all__ = ["cst_day", "seconds_between", "percentiles", "is_pg", "select"]
