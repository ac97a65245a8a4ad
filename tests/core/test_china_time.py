"""Times shown to people are China's (UTC+8), whatever the machine's zone and however the hub wrote them."""
import datetime as dt
import time

import pytest

from kiosk import china_time, form_fields
from kiosk.china_time import promised_day, shown
from kiosk.session import CardRefused, CitizenSession


@pytest.mark.parametrize("iso, fmt, expected", [
    ("2026-12-02T16:01:30+00:00", "%m-%d %H:%M", "12-03 00:01"),  # the hub's UTC, past midnight in Beijing
    ("2026-12-02T16:01:30", "%Y-%m-%d %H:%M", "2026-12-03 00:01"),  # no offset: the hub's UTC
    ("2026-12-03T00:01:30+08:00", "%Y-%m-%d %H:%M:%S", "2026-12-03 00:01:30"),  # already China's
    ("2026-12-02T11:01:30-05:00", "%H:%M", "00:01"),
    (None, "%H:%M", ""),
    ("", "%H:%M", ""),
    ("not a time", "%H:%M", "not a time"),
])
def test_shown_in_china_time(iso, fmt, expected):
    assert shown(iso, fmt) == expected


def test_the_machines_own_zone_does_not_matter(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert shown("2026-12-02T16:01:30+00:00") == "2026-12-03 00:01"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.fixture
def beijing_past_midnight(monkeypatch):
    """02:05 on 12-03 in Beijing, 18:05 on 12-02 for a machine left on UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(china_time, "now", lambda: dt.datetime(2026, 12, 2, 18, 5, tzinfo=dt.timezone.utc)
                        .astimezone(china_time.CST))
    yield
    monkeypatch.undo()
    time.tzset()


def test_today_is_chinas_date(beijing_past_midnight):
    assert china_time.today() == dt.date(2026, 12, 3)
    assert china_time.now().utcoffset() == dt.timedelta(hours=8)


def test_a_card_that_ended_yesterday_in_china_is_refused_on_a_machine_still_on_yesterday(beijing_past_midnight):
    card = {"name": "王小明", "id_number": "610113199001010012", "valid_to": "2026-12-02", "expired": False,
            "id_number_valid": True, "birth_date": "1990-01-01"}
    with pytest.raises(CardRefused) as err:  # the reader's machine (on UTC) said it is still valid today
        CitizenSession().login(card)
    assert err.value.reason == "expired"
    CitizenSession().login({**card, "valid_to": "2026-12-03"})  # valid to the end of today in China
    with pytest.raises(CardRefused):
        CitizenSession().login({**card, "valid_to": "12/03/2026", "expired": False})  # no date: not accepted


def test_a_date_of_today_in_china_is_not_in_the_future(beijing_past_midnight):
    field = {"key": "moved_in", "type": "date"}
    assert form_fields.check(field, "2026-12-03") is None
    assert form_fields.check(field, "2026-12-04")[0] == form_fields.FUTURE_DATE


@pytest.mark.parametrize("due, day", [
    ("2026-12-09T16:00:00+00:00", "2026-12-09"),  # 24:00 in China of 12-09, as the hub writes a due time
    ("2026-12-10T00:00:00+08:00", "2026-12-09"),
    ("2026-12-10T03:00:00+00:00", "2026-12-10"),  # moved later by a pause: 11:00 on 12-10
    ("2026-12-09T16:00:00", "2026-12-09"),  # no offset: the hub's UTC
    (dt.datetime(2026, 12, 9, 16, tzinfo=dt.timezone.utc), "2026-12-09"),
    (None, ""),
    ("soon", "soon"),
])
def test_the_promised_day_is_the_last_day_of_the_promise(due, day):
    assert promised_day(due) == day


def test_the_citizens_progress_shows_the_promised_day():
    from kiosk.citizen.progress import describe

    words = describe({"kind": "proxy", "request_no": "HUB-1", "status": "claimed",
                      "created_at": "2026-12-02T18:05:00+00:00", "sla_due_at": "2026-12-09T16:00:00+00:00"},
                     lambda m: m)
    assert "Promised by: 2026-12-09" in words["lines"]
    assert "Received: 2026-12-03 02:05" in words["lines"]


def test_a_term_ends_at_the_last_second_of_its_day_in_china(beijing_past_midnight):
    end = china_time.last_second(30)
    assert end.isoformat() == "2027-01-02T23:59:59+08:00"  # 30 days after 12-03 in China, not after 12-02
    assert china_time.last_second(1, dt.date(2026, 12, 31)).date() == dt.date(2027, 1, 1)
