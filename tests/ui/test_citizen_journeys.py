"""The citizen journeys beyond applying, tapped through on the real app offscreen against the real hub, platform
simulator and simulated devices: finding an item, 我要代办, 进度查询, 好差评, 办不成事, 一件事, and their failure
branches (an in-person item for 代办, the hub down, a 差评 without a reason, a QR that is not ours)."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).with_name("citizen_scenarios.py")
pytestmark = [pytest.mark.ui, pytest.mark.slow]


def run(name: str, tmp_path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_UI_SHOTS=str(tmp_path / "shots"))
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(SCENARIOS), name], capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    (tmp_path / f"{name}.stderr").write_text(proc.stderr)
    assert proc.returncode == 0 and lines, f"scenario {name} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_find_by_category_and_search_by_initials(tmp_path):
    r = run("find_and_search", tmp_path)
    assert r["departments"] >= 12 and r["events"] >= 8 and len(r["bundles"]) >= 10
    assert r["hits"][0] == "城乡居民养老保险参保登记" and all("养老保险" in h for h in r["hits"])
    assert r["passport_badge"].startswith("须本人到场") and "人像" in r["passport_badge"]
    assert "须本人到场" in r["detail"]["warning"] and "公安窗口" in r["detail"]["warning"]
    assert r["detail"]["can_apply"] is False
    for field in ("实施部门", "法定时限", "收费", "办理地点", "办理时间", "咨询电话", "原件"):
        assert field in r["detail"]["body"], field
    assert r["many"] > 50 and r["row_widgets"] < 20  # the list is virtualised: rows exist only while shown
    # The on-screen keyboard does not cover the results: the list ends above it, its first rows wholly visible.
    above = r["above_keyboard"]
    for mode, least in (("standard", 2), ("elder", 1)):
        assert above[mode]["list_bottom"] >= above[mode]["keyboard_top"], (mode, above[mode])
        assert above[mode]["shown"] >= min(least, above[mode]["hits"]) and above[mode]["hits"], (mode, above[mode])
    assert above["room_after_close"] == 0  # the list gets its full height back


def test_proxy_full_with_signed_mandate_and_in_person_refusal(tmp_path):
    r = run("proxy_full", tmp_path)
    assert "免费" in r["intro"] and "自愿" in r["intro"]
    assert "不能代办" in r["refusal"] and "公安窗口" in r["refusal"]
    assert r["no_mode"]  # Continue without a mode says what is missing
    assert "王**" in r["consent"] and "王小明" not in r["consent"]
    assert r["qr"] is True and r["request_no"]
    [req] = r["hub"]
    assert req["request_no"] == r["request_no"] and req["mode"] == "full_proxy" and req["kind"] == "proxy"
    assert req["mandate"] == "pending" and req["signed"] is True and req["contact_phone"] == "137****9050"
    assert "代办受理单" in r["printed"] and r["request_no"] in r["printed"] and "王小明" not in r["printed"]
    assert r["printed_qr"] and r["printed_qr"][0].endswith(r["request_no"])


def test_proxy_for_an_item_outside_the_outlets_scope_is_refused_in_plain_words(tmp_path):
    r = run("proxy_outside_scope", tmp_path)
    # Nothing filed; the refused request is kept as failed in the kiosk's outbox (`kiosk outbox status`), not resent.
    assert r["screen"] == "proxy_mode" and r["hub"] == [] and r["queued"] == [["proxy_request", "failed"]]
    # The citizen's words and what to do, not the hub's message ("outlet YANTA is not entrusted with item …").
    assert "不代办" in r["notice"] and "窗口" in r["notice"]
    assert "YANTA" not in r["notice"] and "entrusted" not in r["notice"] and "HTTP" not in r["notice"]


def test_proxy_with_the_hub_down_is_kept_and_arrives_once_when_it_is_back(tmp_path):
    r = run("proxy_hub_down", tmp_path)
    assert r["screen"] == "proxy_receipt" and r["pending"] is True and "待上传" in r["pending_line"]
    assert re.fullmatch(r"[A-Za-z0-9]{1,16}-\d{8}-\d{4}", r["request_no"])  # issued by the kiosk, not HUB-…
    assert r["waiting"] == ["proxy_request", "mandate"]
    assert "待上传" in r["printed"] and r["request_no"] in r["printed"]
    [req] = r["hub"]  # exactly once
    assert req["request_no"] == r["request_no"] and req["mode"] == "full_proxy"
    [material] = req["materials"]
    assert material["code"] == "mandate_signature" and material["upload_id"]  # the signature, uploaded with tus
    assert req["mandate"] == "pending" and req["signed"] is True


def test_query_by_card_qr_and_number_then_bad_review_needs_a_reason(tmp_path):
    r = run("query_and_evaluate", tmp_path)
    assert r["by_card"]["n"] == 1 and r["by_card"]["status"] == "已受理"
    assert r["receipt_no"] in r["by_card"]["body"] and "承诺办结" in r["by_card"]["body"]
    assert r["reprinted"] is True
    assert r["by_qr"] == [r["receipt_no"]] and r["typed"] == [r["receipt_no"]]
    assert "不是本系统的回执" in r["foreign"]
    assert r["no_reason"] and "原因" in r["no_reason"]
    assert r["thanks"] == "感谢您的评价。"
    [ev] = r["platform_evaluations"]
    assert ev["level"] == 2 and ev["channel"] == "5" and ev["detail"]["detail_codes"] == ["slow"]


def test_rating_after_the_application_then_again_while_the_hub_is_down(tmp_path):
    r = run("evaluation_hub_down", tmp_path)
    assert r["heading"] == "请选择要评价的事项"
    assert r["waiting"] == ["evaluation"]
    assert [e["level"] for e in r["platform"]] == [4, 5]  # after the application, then from the home tile


def test_cannot_do_report_gets_a_number_and_reaches_the_ladder(tmp_path):
    r = run("cannot_do", tmp_path)
    assert r["empty"]
    by_no = {req["request_no"]: req for req in r["hub"]}
    assert len(r["hub"]) == len(by_no) == 2  # the kept report arrived exactly once
    req = by_no[r["number"]]
    assert req["kind"] == "complaint" and req["level"] == 0 and req["status"] == "new" and req["item_name"]
    # Once sent the screen says what was reported and how the call back comes, the number masked (a public screen).
    # The centre reads the report in Chinese (the choices were stored in English words before); the hub keeps
    # text in NFKC form (full-width colons and semicolons become ASCII ones).
    assert r["hub_details"][r["number"]] == "地点:服务窗口;情况:来回跑、多次跑"
    assert r["hub_details"][r["offline"]["number"]] == "地点:自助终端;情况:系统故障"
    lines = r["details"].splitlines()
    assert lines[:3] == [f"事项：{req['item_name']}", "办理地点：服务窗口", "遇到的情况：来回跑、多次跑"]
    phone = r["phone"]
    assert lines[3] == f"服务中心将致电 {phone[:3]}****{phone[-4:]} 与您联系。" and phone not in r["details"]
    assert lines[4].startswith("将于 20") and lines[4].endswith(" 前回电。")
    # With the hub away: a number issued by the kiosk, 待上传 in words, nothing refused; delivered afterwards.
    off = r["offline"]
    assert off["number"] and off["number"] != r["number"] and not off["problem"]
    assert off["pending_line"].startswith("待上传") and off["waiting"] == ["complaint"]
    assert "遇到的情况：系统故障" in off["details"] and "前回电" not in off["details"]  # no promise from the kiosk
    assert off["number"] in by_no and by_no[off["number"]]["channel"] == "kiosk"
    assert by_no[off["number"]]["kind"] == "complaint"


def test_bundle_questionnaire_to_one_submission_recorded_as_a_bundle(tmp_path):
    r = run("bundle", tmp_path)
    assert len(r["questions"]) == 3
    assert r["item_name"] == "出生一件事" and r["case_no"]
    assert len(r["bundle"]["items"]) == 4 and r["bundle"]["answers"]
    assert len(r["materials"]) == len(set(r["materials"])) >= 5


def test_new_screens_speak_and_replay(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (deploy/bootstrap.sh installs it)")
    r = run("elder_voice_new_screens", tmp_path)
    assert r["silent_before_replay"] is True and r["replayed"] is True
    assert r["volume"] < 1.0
    assert r["elder_prompt"] is True
