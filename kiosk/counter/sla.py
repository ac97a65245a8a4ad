"""How late a 代办 request is: the share of its promised time used, and the colour the queue shows.

Amber from 70 % of the time, red from 90 % (DESIGN §6.3 escalation thresholds); a paused request keeps the
share it had when it was paused (the hub sends `paused_s`).
"""
from __future__ import annotations

import datetime as dt

AMBER_AT = 0.70
RED_AT = 0.90


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def used_share(created_at, due_at, now: dt.datetime | None = None, paused_s: float = 0.0) -> float:
    """0.0 at creation, 1.0 at the due time; above 1.0 once overdue. Unknown times count as 0."""
    start, due = parse_time(created_at), parse_time(due_at)
    if start is None or due is None or due <= start:
        return 0.0
    now = now or dt.datetime.now(dt.timezone.utc)
    total = (due - start).total_seconds()
    used = max(0.0, (now - start).total_seconds() - max(0.0, paused_s))
    return used / total


def level(share: float) -> str:
    """'ok', 'amber' (≥ 70 %) or 'red' (≥ 90 %)."""
    if share >= RED_AT:
        return "red"
    if share >= AMBER_AT:
        return "amber"
    return "ok"


def waiting(created_at, now: dt.datetime | None = None) -> str:
    """How long a request has waited, for the queue: '5 分', '2 时 10 分', '3 天 4 时'."""
    start = parse_time(created_at)
    if start is None:
        return ""
    now = now or dt.datetime.now(dt.timezone.utc)
    minutes = max(0, int((now - start).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 时"
    if hours:
        return f"{hours} 时 {mins} 分"
    return f"{mins} 分"
