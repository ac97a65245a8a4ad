"""办不成事: the report the service centre reads is in Chinese whatever language the citizen used at the kiosk."""
from __future__ import annotations

import pytest

from kiosk import i18n
from screens.cannot_do import WHAT, WHERE, report_details


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_centre_reads_where_and_what_in_chinese(language):
    before = i18n.current_language()
    i18n.set_language(language)
    try:
        assert report_details("window", "sent_back", "排了三次队") == "地点：服务窗口；情况：来回跑、多次跑；排了三次队"
        assert report_details("kiosk", "system", "") == "地点：自助终端；情况：系统故障"
    finally:
        i18n.set_language(before)


def test_every_choice_has_its_chinese_words():
    for key, _words in WHERE:
        assert not report_details(key, "other", "").split("；")[0].removeprefix("地点：").isascii()
    for key, _words in WHAT:
        assert not report_details("kiosk", key, "").split("；")[1].removeprefix("情况：").isascii()
