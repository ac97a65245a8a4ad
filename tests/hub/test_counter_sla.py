"""The queue's SLA colours and waiting times (kiosk.counter.sla) and the clerk session's own-card check."""
from __future__ import annotations

import datetime as dt

from kiosk.counter.clerk import ClerkSession
from kiosk.counter.sla import level, used_share, waiting

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)


def test_share_and_colours():
    due = T0 + dt.timedelta(hours=10)
    assert used_share(T0, due, T0) == 0.0
    assert level(used_share(T0, due, T0 + dt.timedelta(hours=6, minutes=59))) == "ok"
    assert level(used_share(T0, due, T0 + dt.timedelta(hours=7))) == "amber"  # 70 %
    assert level(used_share(T0, due, T0 + dt.timedelta(hours=9))) == "red"  # 90 %
    assert used_share(T0, due, T0 + dt.timedelta(hours=12)) > 1.0  # overdue
    assert used_share(T0.isoformat(), due.isoformat().replace("+00:00", "Z"), T0 + dt.timedelta(hours=5)) == 0.5
    # Time waiting for the citizen does not count.
    assert used_share(T0, due, T0 + dt.timedelta(hours=9), paused_s=3 * 3600) == 0.6
    assert used_share(None, due, T0) == 0.0 and used_share(due, T0, T0) == 0.0


def test_waiting_time_words():
    assert waiting(T0, T0 + dt.timedelta(minutes=5)) == "5 分"
    assert waiting(T0, T0 + dt.timedelta(hours=2, minutes=10)) == "2 时 10 分"
    assert waiting(T0, T0 + dt.timedelta(days=3, hours=4)) == "3 天 4 时"
    assert waiting("not a time") == ""


def test_clerk_session_knows_its_own_card_and_keeps_the_token_out_of_logs():
    doc = {"token": "gk_abc_secret", "expires_at": (T0 + dt.timedelta(hours=8)).isoformat(), "session_id": "s1",
           "person": {"id": 7, "name": "李文华", "role": "window"}, "outlet": {"code": "O-1", "name": "网点"}}
    clerk = ClerkSession.from_answer(doc, "610113198806121029")
    assert clerk.is_own_card("610113198806121029") and not clerk.is_own_card("610113199003071237")
    assert clerk.level == 1 and clerk.is_seat and clerk.actor == "window:李文华"
    assert "secret" not in repr(clerk) and "610113" not in repr(clerk)
    assert clerk.expired(T0 + dt.timedelta(hours=9)) and not clerk.expired(T0)
