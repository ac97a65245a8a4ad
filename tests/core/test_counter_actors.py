"""The counter names who did what in a 代办 request's history as a clerk reads it, not as the hub stores it."""
from kiosk.counter.actors import actor_words
from kiosk.i18n import gettext


def zh(message: str) -> str:
    return gettext(message, "zh_CN")


def test_people_by_name_devices_and_the_hub_in_words():
    assert actor_words("clerk:李文华", zh) == "李文华"
    assert actor_words("window:周敏", zh) == "周敏"
    assert actor_words("hub:proxy", zh) == "系统"
    assert actor_words("kiosk:K0001", zh) == "自助终端 K0001"
    assert actor_words("channel:12345", zh) == "渠道 12345"
    assert actor_words("kiosk:K0001", lambda m: m) == "Kiosk K0001"


def test_odd_actors_are_shown_as_they_are():
    assert actor_words(None, zh) == "—"
    assert actor_words("", zh) == "—"
    assert actor_words("legacy", zh) == "legacy"
    assert actor_words("installer:张三", zh) == "张三"
