"""Daily rollups of applications (cases) for periods longer than a month, on PostgreSQL.

A year of a county's applications is a million rows; summing them on every page view takes seconds. So for each
finished CST day the console keeps, in three small tables (migration 0009), the day's counts per kiosk and
channel (received, finished, in time), per item, and the histogram of times to finish (6-minute buckets). A
statistics view over a long period reads the rolled-up days from these and every other day (today, and any day
not rolled up yet) from `cases` itself, and adds them — the result is the same as the live query.

Applications change after their day (the platform reports completion days later), so a rolled-up day is built
again once it is older than ten minutes while it is within the last 45 days, and daily before that: each long
view first rebuilds a few of the stalest days (newest first; one hub process at a time, an advisory lock), so the
rollups follow the data without a separate job. SQLite hubs (one outlet) always read the live tables.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, and_, case, delete, func, insert, or_,
                        select, text)

from kiosk.hub.console.periods import CST, Period, today_cst
from kiosk.hub.console.sqlbits import BUCKET_S, is_pg, on_or_before_day, seconds_between
from kiosk.hub.models import Case

log = logging.getLogger("kiosk.hub.console.rollup")

MIN_DAYS = 32  # periods this long or longer read the rollups
KEEP_DAYS = 366
RECENT_DAYS, RECENT_MAX_AGE, OLD_MAX_AGE = 45, dt.timedelta(minutes=10), dt.timedelta(hours=24)
BATCH_DAYS = 31
PER_VIEW_DAYS = 7  # days a long view may rebuild before it answers

_md = MetaData()
case_days = Table("console_case_days", _md, Column("day", String(10), primary_key=True),
                  Column("device_id", String(32), primary_key=True), Column("channel", String(16), primary_key=True),
                  Column("n", Integer), Column("finished", Integer), Column("in_time", Integer))
item_days = Table("console_item_days", _md, Column("day", String(10), primary_key=True),
                  Column("item_code", String(64), primary_key=True), Column("item_name", String(200)), Column("n", Integer))
duration_days = Table("console_duration_days", _md, Column("day", String(10), primary_key=True),
                      Column("bucket", Integer, primary_key=True), Column("n", Integer))
built = Table("console_rollup_days", _md, Column("day", String(10), primary_key=True),
              Column("built_at", DateTime(timezone=True)))


def usable(session, period: Period) -> bool:
    return is_pg(session) and period.days >= MIN_DAYS


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CST).astimezone(dt.timezone.utc)


def split(session, period: Period) -> tuple[list[str], list[tuple[dt.datetime, dt.datetime]]]:
    """The period's days that are rolled up, and the UTC ranges of the others (today always among them)."""
    memo = session.info.setdefault("console_rollup_split", {})
    if period in memo:
        return memo[period]
    today = today_cst()
    rolled = {d for (d,) in session.execute(select(built.c.day).where(built.c.day >= period.first.isoformat(),
                                                                       built.c.day <= period.last.isoformat(),
                                                                       built.c.day < today.isoformat()))}
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    day = period.first
    while day <= period.last:
        if day.isoformat() not in rolled:
            start = day
            while day + dt.timedelta(days=1) <= period.last and (day + dt.timedelta(days=1)).isoformat() not in rolled:
                day += dt.timedelta(days=1)
            ranges.append((_utc(start), _utc(day + dt.timedelta(days=1))))
        day += dt.timedelta(days=1)
    memo[period] = (sorted(rolled), ranges)
    return memo[period]


def raw_where(ranges):
    """Cases received in the given UTC ranges (False when there are none)."""
    if not ranges:
        return Case.id.is_(None)  # matches nothing: every day is rolled up
    return or_(*[and_(Case.created_at >= a, Case.created_at < b) for a, b in ranges])


def _day_text(session, column):
    return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD")


def build(session, days: list[dt.date]) -> int:
    """(Re)build the rollups of `days` (contiguous or not) in the caller's transaction; returns the days built."""
    if not days:
        return 0
    days = sorted(set(days))
    keys = [d.isoformat() for d in days]
    start, end = _utc(days[0]), _utc(days[-1] + dt.timedelta(days=1))
    in_days = and_(Case.created_at >= start, Case.created_at < end)
    day = _day_text(session, Case.created_at).label("day")
    for table in (case_days, item_days, duration_days, built):
        session.execute(delete(table).where(table.c.day.in_(keys)))
    done = Case.platform_status == "completed"
    in_time = and_(done, Case.promised_by.is_not(None), on_or_before_day(session, Case.updated_at, Case.promised_by))
    grouped = (select(day, Case.device_id, Case.channel, func.count(), func.sum(case((done, 1), else_=0)),
                      func.sum(case((in_time, 1), else_=0)))
               .where(in_days).group_by(day, Case.device_id, Case.channel).subquery())
    session.execute(insert(case_days).from_select(["day", "device_id", "channel", "n", "finished", "in_time"],
                                                  select(grouped).where(grouped.c.day.in_(keys))))
    items = (select(day, Case.item_code, func.max(Case.item_name), func.count()).where(in_days)
             .group_by(day, Case.item_code).subquery())
    session.execute(insert(item_days).from_select(["day", "item_code", "item_name", "n"],
                                                  select(items).where(items.c.day.in_(keys))))
    bucket = func.floor(seconds_between(session, Case.created_at, Case.updated_at) / BUCKET_S).cast(Integer).label("bucket")
    hist = select(day, bucket, func.count()).where(in_days, done).group_by(day, bucket).subquery()
    session.execute(insert(duration_days).from_select(["day", "bucket", "n"], select(hist).where(hist.c.day.in_(keys))))
    now = dt.datetime.now(dt.timezone.utc)
    session.execute(insert(built), [{"day": k, "built_at": now} for k in keys])
    return len(keys)


def stale_days(session, now: dt.datetime | None = None, limit: int | None = None) -> list[dt.date]:
    """Finished days of the last year whose rollup is missing or older than it may be."""
    now = now or dt.datetime.now(dt.timezone.utc)
    today = today_cst(now)
    have = dict(session.execute(select(built.c.day, built.c.built_at)
                                .where(built.c.day >= (today - dt.timedelta(days=KEEP_DAYS)).isoformat())).all())
    out = []
    for back in range(1, KEEP_DAYS + 1):
        day = today - dt.timedelta(days=back)
        at = have.get(day.isoformat())
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=dt.timezone.utc)
        max_age = RECENT_MAX_AGE if back <= RECENT_DAYS else OLD_MAX_AGE
        if at is None or now - at > max_age:
            out.append(day)
        if limit and len(out) >= limit:
            break
    return out


def refresh(sessions, limit: int = BATCH_DAYS) -> int:
    """Build one batch of stale days, if no other hub process is doing it. Returns the days built."""
    with sessions() as s, s.begin():
        if not s.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('govkiosk-console-rollup:' || current_schema()))")).scalar():
            return 0
        days = stale_days(s, limit=limit)
        return build(s, days)


def refresh_all(sessions) -> int:
    total = 0
    while True:
        n = refresh(sessions)
        total += n
        if n == 0:
            return total


__all__ = ["usable", "split", "raw_where", "build", "refresh", "refresh_all"]
