"""Long periods on PostgreSQL read daily rollups for finished days and the live tables for the rest: the figures
must be the very same as the live query's, and a rebuilt day must follow the data."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from console_seed import add_case
from kiosk.hub.console import rollup
from kiosk.hub.console.periods import CST
from kiosk.hub.models import Case, utcnow
from test_console_http import sign_in

pytestmark = [pytest.mark.timeout(180), pytest.mark.postgres]
TABLES = ("timeliness", "daily_volume", "applications_by_outlet", "applications_by_channel", "applications_by_item")


@pytest.fixture
def pg_hub(console_hub):
    if console_hub.app.state.hub.engine.dialect.name != "postgresql":
        pytest.skip("rollups are used on PostgreSQL only")
    return console_hub


def figures(http, url, query):
    return {t: list(csv.reader(io.StringIO(http.get(f"{url}/console/export/stats/{t}.csv?{query}").content.decode("utf-8-sig"))))
            for t in TABLES}


def test_rollups_give_the_live_figures_and_follow_changes(pg_hub, monkeypatch):
    now = utcnow()
    with pg_hub.sessions() as s, s.begin():
        for back in range(0, 50, 3):
            for k, hours in enumerate((1, 5, 30, 200)):
                add_case(s, "K0001" if k % 2 else "K0002", created=now - dt.timedelta(days=back, hours=k),
                         finished_after_h=hours if (back + k) % 3 else None,
                         item=(f"ITEM{k % 3}", f"事项{k % 3}"), channel="counter" if k == 3 else "kiosk")
    today = now.astimezone(CST).date()
    query = f"from={today - dt.timedelta(days=59)}&to={today}"
    http = sign_in(pg_hub)
    monkeypatch.setattr(rollup, "MIN_DAYS", 10_000)  # the live query alone
    live = figures(http, pg_hub.url, query)
    with pg_hub.sessions() as s:
        assert s.scalar(select(rollup.built.c.day).limit(1)) is None  # nothing rolled up yet
    monkeypatch.setattr(rollup, "MIN_DAYS", 32)
    assert rollup.refresh_all(pg_hub.app.state.hub.sessions) == rollup.KEEP_DAYS
    assert figures(http, pg_hub.url, query) == live
    # A case of a rolled-up day completes later: once that day's rollup is due again, the view rebuilds it.
    with pg_hub.sessions() as s, s.begin():
        case = s.scalar(select(Case).where(Case.platform_status == "accepted", Case.created_at < now - dt.timedelta(days=5))
                        .order_by(Case.id).limit(1))
        case.platform_status, case.updated_at = "completed", case.created_at + dt.timedelta(hours=2)
        day = case.created_at.astimezone(CST).date().isoformat()
        s.execute(update(rollup.built).where(rollup.built.c.day == day).values(built_at=now - dt.timedelta(minutes=11)))
    monkeypatch.setattr(rollup, "MIN_DAYS", 10_000)
    live_after = figures(http, pg_hub.url, query)
    assert live_after["timeliness"] != live["timeliness"]
    monkeypatch.setattr(rollup, "MIN_DAYS", 32)
    assert figures(http, pg_hub.url, query) == live_after
