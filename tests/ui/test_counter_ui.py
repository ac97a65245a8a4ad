"""The counter role of the real app, offscreen, tapped through with synthetic touches against the real hub,
platform simulator and simulated devices (scenarios in counter_scenarios.py, one process each)."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).with_name("counter_scenarios.py")
pytestmark = [pytest.mark.ui, pytest.mark.slow]


def run(name: str, tmp_path, **extra_env) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_UI_SHOTS=str(tmp_path / "shots"), **extra_env)
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(SCENARIOS), name], capture_output=True, text=True, env=env, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    (tmp_path / f"{name}.stderr").write_text(proc.stderr)
    assert proc.returncode == 0 and lines, f"scenario {name} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_clerk_pin_lockout(tmp_path):
    r = run("pin_lockout", tmp_path)
    assert r["citizen_refusal"] == "This ID card does not belong to a clerk. Sign in with your own ID card." or \
        "不属于" in r["citizen_refusal"] or "工作人员" in r["citizen_refusal"]
    assert r["problems"][0] != r["problems"][2]
    assert r["wait_after_third"] == 30  # the third wrong PIN makes the next try wait
    assert r["button_disabled"] is True
    assert r["locked_code"] == "locked"  # the hub refuses even the right PIN while it waits
    assert "李文华" in r["header"]  # the header shows who is signed in
    assert r["after_sign_out"] == "counter_clerk_login" and r["signed_in"] is False


def test_handout_with_a_wrong_card_then_the_right_one(tmp_path):
    r = run("handout", tmp_path)
    assert r["found"]["result"] == "ready" and r["found"]["platform_status"] == "completed"
    assert r["refused_flag"] is True and "委托书" in r["refused"]  # refused in words
    assert r["printed_after_refusal"] == 0  # nothing printed, nothing recorded for the stranger
    assert r["rows"] == [["applicant", "李文华", "PX-TRAIN"]]  # one hand-out, under the clerk's name
    assert r["audit"] == [["clerk:李文华", "handed_out"]]
    slip = r["slip"]
    assert "取件凭条" in slip and "申请人本人" in slip and "李文华" in slip
    assert r["citizen_id"] not in slip and r["citizen_name"] not in slip  # masked on paper
    assert r["found"]["pickup_code"] in slip


def test_entry_for_a_citizen_at_the_counter(tmp_path):
    r = run("entry", tmp_path)
    assert r["case"][0] == "counter" and r["case"][2] in ("queued", "submitted")  # channel counter, at the hub
    assert r["counter"]["clerk"] == "李文华" and r["counter"]["outlet_code"] == "PX-TRAIN"
    assert r["counter"]["training"] is False
    assert "受理回执" in r["slip"] and r["receipt_no"] in r["slip"]
    assert r["back_at"] == "counter_desk"  # the citizen's session ended, the clerk's desk is back
    if r["delivery"] != "邮寄":  # the 取件码 is on the receipt and on the screen; the hub keeps its HMAC
        code = r["pickup_code"]
        assert len(code) == 6 and f"取 件 码：{code}" in r["slip"] and code in r["pickup_line"]
        assert r["pickup_bound"] is True
        assert r["copy_text"] and r["receipt_no"] in r["copy_text"] and "取 件 码" not in r["copy_text"]


def test_full_proxy_from_claim_to_filed(tmp_path):
    r = run("full_proxy", tmp_path)
    assert r["queue_rows"] >= 1
    assert r["claimed_by"] == "clerk:李文华"
    # the holder reads the citizen's scan page by page (A4 at 150 dpi), and nothing of it stays after leaving
    assert r["pages_seen"] == ["第 2 页，共 2 页", 2, [1240, 1754]] and r["kept_after_leaving"] == 0
    assert "material_viewed" in r["actions"]
    assert r["mandate"] == "active"  # the 委托书 signed on the screen is in force
    assert r["final_status"] == "filed" and r["final_receipt"] == r["receipt_no"]  # the case links back
    for step in ("claimed", "mandate_created", "mandate_activated", "started", "filed"):
        assert step in r["actions"]
    assert "clerk:李文华" in r["actors"]  # every clerk action under the clerk's name
    assert "代办受理单" in r["slip"] and "全程代办" in r["slip"] and "王小明" not in r["slip"]
    assert "受理回执" in r["slip"]  # the application filed by 代录 printed its receipt too


def test_handout_while_the_hub_is_away_waits_then_goes_out(tmp_path):
    r = run("handout_hub_down", tmp_path)
    assert "自动上报" in r["message"] or "sent automatically" in r["message"]
    assert r["waiting_on_bar"] == 1
    assert "网络中断" in r["slip"] and "取件凭条" in r["slip"]  # the slip says the hand-out waits to be reported
    assert r["rows"] == [["applicant", "李文华"]]  # recorded once, under the clerk's name, when the hub came back


def test_training_mode_never_touches_the_real_hub(tmp_path):
    r = run("training", tmp_path)
    assert r["training_hub"] != r["real_hub"]
    assert r["watermark"] == 1  # 培训 over every screen
    assert "培训" in r["slip"] and r["receipt_no"] in r["slip"]  # the receipt printed in training says so
    assert r["real_cases"] == 0 and r["real_sessions"] == 0  # nothing reached the real hub
    assert r["existed"] is True and r["gone"] is True  # training leaves nothing behind


def test_escalation_seat_resolves_and_sends_down(tmp_path):
    r = run("escalation_seat", tmp_path)
    assert r["seen"] >= 1
    assert any("已领取（李文华）" in t for t in r["row_texts"]), r["row_texts"]  # who holds it, by name
    assert "材料缺失" in r["history"]  # the escalation's reason is in the history
    # who did what in words (a name, 自助终端 K0001, 系统), never the hub's role:name
    assert "系统" in r["history"] and not re.search(r"\b(hub|kiosk|clerk|window|channel):", r["history"])
    # each line's time is China's (the hub answers in UTC): the escalation's line, 8 hours on from UTC
    at = dt.datetime.fromisoformat(r["escalated_at"])
    line = next(x for x in r["history"].splitlines() if "材料缺失" in x)
    assert line.startswith(at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%m-%d %H:%M")), (line, at)
    assert not line.startswith(at.astimezone(dt.timezone.utc).strftime("%m-%d %H:%M"))
    assert r["refused_without_note"]  # a resolution needs its words
    assert r["level"] == 0
    assert r["last_event"]["action"] == "deescalated" and r["last_event"]["actor"].startswith("window:")


def test_shift_timeout_signs_the_clerk_out(tmp_path):
    r = run("shift_timeout", tmp_path, KIOSK_COUNTER_IDLE_SIGN_OUT_S="4")
    assert r["screen"] == "counter_clerk_login" and r["signed_in"] is False
    assert r["notice"]
    assert r["me_after"] == 401  # the clerk token ended at the hub too


def test_queue_follows_the_live_feed(tmp_path):
    r = run("queue_live", tmp_path)
    assert r["after"] == r["before"] + 1  # appeared with polling off: the feed brought it
    assert r["connections"] == 1
    assert r["follower_after_leave"] is False  # leaving the queue stops following the feed
    print("new request on the clerk's screen after", r["appeared_s"], "s")


def test_handout_by_the_receipt_qr_under_the_camera(tmp_path):
    r = run("handout_by_qr", tmp_path)
    assert r["by_qr"]["selected"] == r["receipt_no"], r["by_qr"]  # the QR on the photographed receipt found it
    assert r["by_qr"]["code_field"] == r["receipt_no"] and r["by_qr"]["result"] == "ready"
    assert r["by_code"] == r["receipt_no"]  # so did the 取件码 printed on that receipt
    assert r["rows"] == [[r["receipt_no"], "applicant"]] and not r["problem"]
    assert "取件凭条" in r["slip"]


def test_full_proxy_with_a_paper_mandate_scanned(tmp_path):
    r = run("full_proxy_paper_mandate", tmp_path)
    assert r["unscanned"]  # confirming before the photo is refused in words
    assert r["scanned"] is True and r["mandate"] == "active"
    assert r["signature_status"] == 200 and r["signature_type"] == "image/png"
    # The hub keeps the photographed paper, cleaned to black ink on white: the same ink as the paper on the desk.
    assert r["bilevel"] is True and r["same_ink"] > 0.8, r["same_ink"]
    assert r["status"] == "in_progress"
    for step in ("claimed", "mandate_created", "mandate_activated", "started"):
        assert step in r["actions"]
