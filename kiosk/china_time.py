"""Times shown to people: China Standard Time (UTC+8, no daylight saving), whatever zone the machine is set to.
The hub and the platform answer with ISO 8601 times carrying their offset (the hub's are in UTC)."""
from __future__ import annotations

import datetime as dt

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def _in_china(value: str | dt.datetime) -> dt.datetime:
    """`value` (ISO 8601 text or a datetime; without an offset it is the hub's UTC) in China's time; ValueError
    for text that is not a time."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(CST)


def shown(value: str | dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time (ISO 8601 text or a datetime) as people in China read it (`fmt` of strftime); '' for none. A time
    without an offset is taken as UTC (as the hub stores them); text that is not a time is returned as it came."""
    if not value:
        return ""
    try:
        return _in_china(value).strftime(fmt)
    except ValueError:
        return value


def promised_day(value: str | dt.datetime | None) -> str:
    """The day a promise ends on, as people read "承诺办结 2026-12-10": the hub's due times are 24:00 in China
    (16:00 UTC) of the last working day, which is already the next day's 00:00, so the day is that of the second
    before. '' for none; text that is not a time is returned as it came."""
    if not value:
        return ""
    try:
        return (_in_china(value) - dt.timedelta(seconds=1)).date().isoformat()
    except ValueError:
        return value


def now() -> dt.datetime:
    """The time now, with China's offset (what receipts, slips and the request's papers print)."""
    return dt.datetime.now(CST)


def today() -> dt.date:
    """Today's date in China: a machine left on UTC is still on yesterday until 08:00."""
    return now().date()


def last_second(days: int, start: dt.date | None = None) -> dt.datetime:
    """23:59:59 in China of the day `days` after `start` (China's today by default): where a term such as a
    委托书's ends."""
    return dt.datetime.combine((start or today()) + dt.timedelta(days=days), dt.time(23, 59, 59), CST)
