"""A citizen journey that cannot go wrong: the right person, the right pages, the right fields, no dead ends, a fresh
start for everybody, English in English; the real app offscreen against the real hub, platform simulator and devices."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.demo import sample_card

SCENARIOS = Path(__file__).with_name("journey_rules_scenarios.py")
pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(600)]  # one real app and stack each


def run(name: str, tmp_path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_UI_SHOTS=str(tmp_path / "shots"))
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(SCENARIOS), name], capture_output=True, text=True, env=env, timeout=500)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    (tmp_path / f"{name}.stderr").write_text(proc.stderr)
    assert proc.returncode == 0 and lines, f"scenario {name} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.parametrize("module", ["continuous", "single"])
def test_the_session_belongs_to_the_card_that_opened_it(tmp_path, module):
    r = run("card_ownership" if module == "continuous" else "card_ownership_single", tmp_path)
    assert r["preplaced_login"] is True  # a card already on the reader is read when the journey starts
    assert r["after_put_back"] == {"screen": "form", "phone_kept": True, "same_person": True}
    assert r["swap"]["new_id"] is True and r["swap"]["screen"] == "service_list"
    assert r["swap"]["phone"] == ""  # nothing of the first citizen carried over
    assert r["swap"]["notice"].startswith("检测到另一张身份证")
    if module == "continuous":
        assert r["countdown_shown"] is True
        assert r["not_returned"]["screen"] == "home" and r["not_returned"]["card"] is None
        assert r["not_returned"]["notice"].startswith("身份证已被取走")
        assert r["not_returned"]["sessions_left"] == []
    else:
        assert r["stale_single"]["screen"] == "id_login" and "重新放到读卡区" in r["stale_single"]["problem"]
        assert r["stale_single"]["after_replace"] == "service_list"
    assert r["cases_filed"] == 0


def test_unreadable_card_is_said_and_a_card_left_behind_is_read_next_time(tmp_path):
    r = run("unreadable_card_and_idle_leftover", tmp_path)
    assert r["unreadable"].startswith("未能读取身份证")
    assert r["screen"] == "service_list"


def test_capture_shows_what_it_took(tmp_path):
    r = run("capture_rules", tmp_path)
    assert r["first_prompt"] == "身份证正面（人像面）"
    assert r["auto_on_empty"] == 0
    assert r["empty_problem"].startswith("未检测到材料") and r["empty_spoken"] == r["empty_problem"]
    assert r["second_prompt"] == "身份证反面（国徽面）"
    assert r["pages_after_same_page_stays"] == 1  # no second shot of the page left under the camera
    assert r["same_page_problem"].startswith("这一页已经拍过")
    assert r["blur_pending"] is True and r["blur_advice"].startswith("照片模糊")
    assert r["large_view"] is True
    assert r["retake_prompt"].startswith("重拍") and r["retake_replaced"] is True
    assert r["can_add_page"] is True and r["after_delete"] == 2
    assert "居民身份证：2页" in r["confirm"] and "户口簿（户主页及本人页）：2页" in r["confirm"]
    assert "6217000012345678" not in r["confirm"]  # the account number is masked
    assert r["platform_pages"]["M01"] == 2  # the ID card: front and back
    assert "2页" in r["receipt_text"].replace(" ", "") or "2 页" in r["receipt_text"]


def test_the_items_own_form_is_asked_checked_and_filed(tmp_path):
    r = run("item_form", tmp_path)
    assert r["fields"] == ["reason", "residence_address", "residence_since"]
    assert r["blocked_empty"]["screen"] == "form"
    assert all(e.startswith("请") for e in r["blocked_empty"]["errors"].values()), r["blocked_empty"]
    assert r["bad_date"]["screen"] == "form" and "有效日期" in r["bad_date"]["error"]
    assert r["bad_date"]["address_kept"] == "雁塔区小寨东路1号"
    assert r["card_address_button_disabled"] is True  # a foreigner's card has no address: enter one
    assert r["short_address"]["screen"] == "form" and "太短" in r["short_address"]["error"]
    assert r["kept_on_return"]["since"] == "2024-03-01" and r["kept_on_return"]["reason"]
    form = r["platform_form"]
    assert form["residence_since"] == "2024-03-01" and form["residence_address"] == "雁塔区小寨东路1号"
    assert form["reason"] and form["mailing_address"].endswith("501室")
    assert r["platform_delivery"] == "邮寄"
    assert r["typed_left"] == []  # a field's redraw due at the wipe put the address back in Kivy's caches before


def test_no_dead_ends(tmp_path):
    r = run("no_dead_ends", tmp_path)
    assert r["home_banner"], "paper near-end not shown on home"
    for screen, exits in r["screens"].items():
        if screen == "service_list":  # its own layout: ending the session is its way back
            assert exits["btn_quit"] is True
            continue
        assert exits == {"btn_back": True, "btn_quit": True}, screen
    assert r["cancel_text"] == "不再等待，先出回执"
    assert r["hung_hub"]["pending"] is True and r["hung_hub"]["seconds"] < 25
    assert "高拍仪未连接" in r["out_of_service"]["broken"] and "人工窗口" in r["out_of_service"]["where"]
    assert r["out_of_service"]["exits"]["btn_quit"] is True
    assert r["back_home_when_fixed"] == "home"
    assert r["staff_alarm"].startswith("工作人员请注意")


def test_every_session_starts_fresh_and_english_is_english(tmp_path):
    r = run("fresh_and_english", tmp_path)
    assert r["greeting"] == "Garcia L. M. F. A."
    card = sample_card("foreign_2023")
    assert card["name"] not in r["greeting"]
    assert r["guide"]["title"] == "Urban and rural residents' pension insurance enrolment"
    assert "Resident ID card" in r["guide"]["body"] and "居民身份证" not in r["guide"]["body"]
    assert all(label.isascii() for label in r["form_labels"]), r["form_labels"]
    assert r["after_quit"] == {"language": "zh_CN", "elder": False, "card": None, "volume_step": 0}
    assert r["idle_reset"] == "zh_CN"
