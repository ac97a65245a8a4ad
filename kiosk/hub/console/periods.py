"""The period and the outlet subtree a console view covers, read from the query string and checked.

Days are China Standard Time (UTC+8, no daylight saving): a period of 2026-11-01..2026-11-30 covers
2026-10-31T16:00Z up to 2026-11-30T16:00Z.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from kiosk.china_time import CST
from kiosk.i18n import gettext as _

MAX_DAYS = 366  # a year of 考核; longer periods are refused, not truncated


class ConsoleInputError(Exception):
    """Bad input from the page: answered with the message and what to do, status 400 (or `status`)."""

    def __init__(self, message: str, action: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.status = status


def today_cst(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(CST).date()


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), CST).astimezone(dt.timezone.utc)

    @property
    def end_utc(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), CST).astimezone(dt.timezone.utc)

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}

    @classmethod
    def month_of(cls, day: dt.date) -> "Period":
        first = day.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return cls(first, nxt - dt.timedelta(days=1))


def _date(raw: str, label: str, lang: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ConsoleInputError(_("The {label} date {value!r} is not a date.", lang).format(label=label, value=raw[:40]),
                                _("Write dates as YYYY-MM-DD, e.g. 2026-11-01.", lang)) from None


def parse_period(raw_from: str | None, raw_to: str | None, lang: str, now: dt.datetime | None = None) -> Period:
    """Default: the last 30 days up to today. Refuses reversed periods and periods over MAX_DAYS days."""
    today = today_cst(now)
    first = _date(raw_from, _("start", lang), lang) if raw_from else today - dt.timedelta(days=29)
    last = _date(raw_to, _("end", lang), lang) if raw_to else today
    if last < first:
        raise ConsoleInputError(_("The period ends ({last}) before it starts ({first}).", lang).format(last=last, first=first),
                                _("Choose an end date on or after the start date.", lang))
    period = Period(first, last)
    if period.days > MAX_DAYS:
        raise ConsoleInputError(
            _("The period {first} to {last} is {days} days long; the console reports on at most {max} days.", lang)
            .format(first=first, last=last, days=period.days, max=MAX_DAYS),
            _("Choose a period of one year or less (export each year separately).", lang))
    return period


def parse_month(raw: str | None, lang: str, now: dt.datetime | None = None) -> Period:
    if not raw:
        return Period.month_of(today_cst(now))
    try:
        year, month = (int(x) for x in raw.strip().split("-"))
        return Period.month_of(dt.date(year, month, 1))
    except ValueError:
        raise ConsoleInputError(_("The month {value!r} is not a month.", lang).format(value=raw[:20]),
                                _("Write the month as YYYY-MM, e.g. 2026-11.", lang)) from None


@dataclass(frozen=True)
class OutletInfo:
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class Scope:
    """The outlets a view covers: `codes` is None for "every outlet" (a supervisor without a filter)."""

    outlet: OutletInfo | None
    codes: frozenset[str] | None
    outlets: dict[str, OutletInfo]

    def label(self, lang: str) -> str:
        return self.outlet.name if self.outlet else _("All outlets", lang)

    def choices(self, root_codes: frozenset[str] | None) -> list[OutletInfo]:
        """The outlets a viewer may pick, county first, then by code."""
        order = {"county": 0, "town": 1, "village": 2, "partner": 3}
        pool = [o for o in self.outlets.values() if root_codes is None or o.code in root_codes]
        return sorted(pool, key=lambda o: (order.get(o.level, 9), o.code))


def load_outlets(session) -> dict[str, OutletInfo]:
    from kiosk.hub.models import Outlet

    return {code: OutletInfo(code, name, level, parent) for code, name, level, parent in
            session.execute(select(Outlet.code, Outlet.name, Outlet.level, Outlet.parent_code))}


def subtree(outlets: dict[str, OutletInfo], root: str) -> frozenset[str]:
    children: dict[str | None, list[str]] = {}
    for o in outlets.values():
        children.setdefault(o.parent_code, []).append(o.code)
    found, stack = set(), [root]
    while stack:
        code = stack.pop()
        if code in found:
            continue  # a cycle in bad data must not hang the page
        found.add(code)
        stack.extend(children.get(code, ()))
    return frozenset(found)


def resolve_scope(session, raw_outlet: str | None, viewer_root: str | None, lang: str) -> tuple[Scope, frozenset[str] | None]:
    """The chosen outlet's subtree, within the viewer's own (None = the viewer sees every outlet)."""
    outlets = load_outlets(session)
    allowed = subtree(outlets, viewer_root) if viewer_root else None
    code = (raw_outlet or "").strip()
    if not code:
        if viewer_root is None:
            return Scope(None, None, outlets), allowed
        return Scope(outlets.get(viewer_root), allowed, outlets), allowed
    if code not in outlets:
        raise ConsoleInputError(_("There is no outlet with the code {code!r}.", lang).format(code=code[:40]),
                                _("Choose an outlet from the list.", lang), status=404)
    if allowed is not None and code not in allowed:
        raise ConsoleInputError(_("Outlet {code} is outside your own outlet's area.", lang).format(code=code),
                                _("Choose an outlet under your own.", lang), status=403)
    return Scope(outlets[code], subtree(outlets, code), outlets), allowed
