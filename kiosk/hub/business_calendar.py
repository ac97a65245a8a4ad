"""Working days on China's official calendar (法定节假日 and 调休 make-up working days) for promised times.

The official days come from the `chinese-calendar` package. Configuration adds local days off and make-up days,
and gives the days of a year the package does not know yet (the State Council publishes each year's schedule in
November or December): such a year is Monday–Friday plus those days, and the hub logs a warning once.

Time runs in China Standard Time (UTC+8; no daylight saving). A promised time of N working days ends at 24:00
of the N-th working day after the day of receipt; working time is counted in whole working days (00:00–24:00).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

import chinese_calendar

from kiosk.china_time import CST

log = logging.getLogger("kiosk.hub.calendar")

DAY_S = 86400


def _dates(values) -> frozenset[dt.date]:
    out = set()
    for v in values or ():
        out.add(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)))
    return frozenset(out)


@dataclass
class BusinessCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)  # local days off
    workdays: frozenset[dt.date] = field(default_factory=frozenset)  # local make-up working days
    years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = field(default_factory=dict)  # year → (off, on)

    @classmethod
    def from_config(cls, cfg: dict | None) -> "BusinessCalendar":
        """`{"holidays": [...], "workdays": [...], "years": {"2027": {"holidays": [...], "workdays": [...]}}}`."""
        cfg = cfg or {}
        years = {}
        for year, days in (cfg.get("years") or {}).items():
            years[int(year)] = (_dates(days.get("holidays")), _dates(days.get("workdays")))
        return cls(_dates(cfg.get("holidays")), _dates(cfg.get("workdays")), years)

    def __hash__(self) -> int:
        return id(self)

    @functools.lru_cache(maxsize=4096)
    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        override = self.years.get(day.year)
        if override is not None:
            off, on = override
            if day in on:
                return True
            if day in off:
                return False
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            _warn_unknown_year(day.year)
            return day.weekday() < 5

    # -- promised times -----------------------------------------------------------------------
    def due(self, start: dt.datetime, working_days: int) -> dt.datetime:
        """24:00 (CST) of the `working_days`-th working day after the day of `start`, as an aware UTC datetime."""
        day = start.astimezone(CST).date()
        counted = 0
        while counted < working_days:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), CST)
        return end.astimezone(dt.timezone.utc)

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> int:
        """Seconds of working days between `start` and `end` (0 if end ≤ start)."""
        if end <= start:
            return 0
        s, e = start.astimezone(CST), end.astimezone(CST)
        total = 0.0
        day = s.date()
        while day <= e.date():
            if self.is_workday(day):
                lo = max(s, dt.datetime.combine(day, dt.time(0), CST))
                hi = min(e, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), CST))
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += dt.timedelta(days=1)
        return int(total)

    def add_working_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """The moment `seconds` of working time after `start` (days off are skipped)."""
        at = start.astimezone(CST)
        left = float(seconds)
        for _ in range(3660):  # at most ten years of days: a bound, never reached in practice
            if left <= 0:
                break
            day_end = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(0), CST)
            if self.is_workday(at.date()):
                room = (day_end - at).total_seconds()
                if left <= room:
                    at = at + dt.timedelta(seconds=left)
                    left = 0
                    break
                left -= room
            at = day_end
        return at.astimezone(dt.timezone.utc)


_warned: set[int] = set()


def _warn_unknown_year(year: int) -> None:
    if year not in _warned:
        _warned.add(year)
        log.warning("chinese-calendar has no data for this year: counting Monday-Friday plus the configured days;"
                    " add [calendar.years.%d] to proxy.toml or upgrade chinese-calendar", year,
                    extra={"year": year})
