"""The few SQL expressions that PostgreSQL and SQLite spell differently (dates in CST, durations, percentiles)."""
from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.sql import ColumnElement


def is_pg(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def cst_day(session, column) -> ColumnElement:
    """The calendar day (YYYY-MM-DD text) in China Standard Time of a timestamp column."""
    if is_pg(session):
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "+8 hours")


def cst_day_key(session, column) -> ColumnElement:
    """A grouping key for the CST day of a timestamp (cheaper than text): turn it into a date with `key_to_day`."""
    if is_pg(session):
        return func.date_trunc("day", func.timezone("Asia/Shanghai", column))
    return func.strftime("%Y-%m-%d", column, "+8 hours")


def key_to_day(value) -> str:
    return value if isinstance(value, str) else value.date().isoformat()


def on_or_before_day(session, column, day_text) -> ColumnElement:
    """`column` (a timestamp) falls on or before the CST calendar day `day_text` (YYYY-MM-DD text column)."""
    if is_pg(session):
        from sqlalchemy import Date, literal_column, cast as _cast

        end = func.timezone("Asia/Shanghai", (_cast(day_text, Date) + literal_column("1")).cast(_DateTime()))
        return column < end
    return func.strftime("%Y-%m-%d", column, "+8 hours") <= day_text


def _DateTime():
    from sqlalchemy import DateTime

    return DateTime()


def seconds_between(session, start, end) -> ColumnElement:
    if is_pg(session):
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


BUCKET_S = 360  # durations are counted in 6-minute buckets: percentiles are exact to that


def histogram(session, where, start, end) -> list[tuple[int, int]]:
    """(bucket, count) of `end - start` over the rows matching `where`, 6-minute buckets, built by the database."""
    bucket = func.floor(seconds_between(session, start, end) / BUCKET_S)
    return [(int(b), n) for b, n in session.execute(select(bucket.label("b"), func.count()).where(where)
                                                    .group_by(literal_column("b")))]


def histogram_percentiles(rows, fractions=(0.5, 0.9)) -> list[float | None]:
    """Percentiles from (bucket, count) rows (several histograms may be concatenated): the middle of the bucket
    where the cumulative count reaches each rank — a walk over a few hundred buckets, not over rows."""
    merged: dict[int, int] = {}
    for b, n in rows:
        merged[int(b)] = merged.get(int(b), 0) + int(n)
    total = sum(merged.values())
    if not total:
        return [None for _ in fractions]
    out = []
    ordered = sorted(merged.items())
    for f in fractions:
        rank, seen = f * total, 0
        for b, n in ordered:
            seen += n
            if seen >= rank:
                out.append((float(b) + 0.5) * BUCKET_S)
                break
    return out


def bucket_percentiles(session, where, start, end, fractions=(0.5, 0.9)) -> list[float | None]:
    """Percentiles of `end - start` over the rows matching `where`, exact to their 6-minute bucket."""
    return histogram_percentiles(histogram(session, where, start, end), fractions)


__all__ = ["cst_day", "cst_day_key", "key_to_day", "on_or_before_day", "seconds_between", "histogram",
           "histogram_percentiles", "bucket_percentiles", "is_pg", "BUCKET_S"]
