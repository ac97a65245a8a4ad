"""Times shown to people are China's (UTC+8), whatever the machine's zone and however the hub wrote them."""
import time

import pytest

from kiosk.china_time import shown


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
