"""The console in a real browser: Debian's headless Chromium driven by Selenium through sign-in, today's board,
a reassign, an escalation, a 差评 rectification, the statistics and an export. The `browser` fixture fails the
test on any JavaScript console error (a blocked script or style, a missing file, a CSP violation).

Screenshots of each view land in $KIOSK_CONSOLE_SHOTS when set (docs/img/console/ for docs/console.md)."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from console_seed import add_case, add_diag, add_evaluation, add_request
from kiosk.hub.evaluations import Evaluation
from kiosk.hub.models import ProxyRequest, utcnow

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


def shot(driver, name: str, tmp_path: Path) -> Path:
    """A full-page PNG, reduced to a palette so the docs stay small."""
    out_dir = Path(os.environ.get("KIOSK_CONSOLE_SHOTS") or tmp_path / "shots")
    out_dir.mkdir(parents=True, exist_ok=True)
    height = min(2400, int(driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]))
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                             "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}})
    image = Image.open(io.BytesIO(base64.b64decode(data["data"]))).convert("RGB")
    path = out_dir / f"{name}.png"
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def click_and_load(driver, element) -> None:
    """Click something that loads a new page and wait until the new page is there."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(EC.staleness_of(old))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def wait_file(folder: Path, suffix: str, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        if done:
            time.sleep(0.2)
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {timeout} s: {list(folder.iterdir())}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_console_in_chromium(console_hub, browser, tmp_path):
    hub_state = console_hub.app.state.hub
    now = utcnow()
    with console_hub.sessions() as s, s.begin():
        held = add_request(s, "T-LG", status="in_progress", level=1, holder="clerk:代办员张伟", stage=90, applicant_masked="欧***")
        add_request(s, "V-LG1", status="new", due_in_h=30, applicant_masked="张*", mode="home_visit", channel="hotline")
        add_request(s, "T-LG", status="claimed", level=0, holder="clerk:代办员刘洋", stage=70, applicant_masked="李**",
                    kind="complaint")
        add_request(s, "T-LG", status="done", created=now - dt.timedelta(days=2), closed_after_h=20, applicant_masked="王*")
        for h in (2, 5, 30, 70):
            add_case(s, "K0001", created=now - dt.timedelta(hours=h + 30), finished_after_h=h)
        add_case(s, "K0001")
        bad = add_evaluation(hub_state, s, "T-LG", 1, "<script>alert('x')</script> 排队两小时，窗口说系统坏了",
                             codes=("slow", "system_fault"))
        add_evaluation(hub_state, s, "V-LG1", 2, "材料要求说不清", codes=("guide_unclear",))
        for level in (5, 5, 4, 3):
            add_evaluation(hub_state, s, "T-LG", level)
        add_diag(s, "K0001", "warning", ["printer"])
        no, bad_id = held.request_no, bad.id
    d = browser
    d.get(console_hub.url + "/console/")
    assert d.find_element(By.ID, "token")
    shot(d, "login", tmp_path)
    d.expected_statuses.append("/console/login?lang=zh_CN - Failed to load resource: the server responded with a status of 401")
    d.find_element(By.ID, "token").send_keys("gk_nope_wrong")
    click_and_load(d, d.find_element(By.ID, "login"))
    assert d.find_element(By.ID, "login-error").text
    shot(d, "login-refused", tmp_path)
    d.find_element(By.ID, "token").send_keys(console_hub.tokens["window"])
    click_and_load(d, d.find_element(By.ID, "login"))
    assert d.current_url.endswith("/console/board"), d.find_element(By.TAG_NAME, "main").text
    assert d.find_element(By.ID, "viewer-name").text == "窗口王芳"
    shot(d, "board", tmp_path)

    # Reassign the held request to the other window clerk, then escalate it.
    row = d.find_element(By.ID, f"r-{no}")
    row.find_element(By.TAG_NAME, "summary").click()
    form = row.find_element(By.CSS_SELECTOR, "form.reassign")
    Select(form.find_element(By.NAME, "person")).select_by_visible_text("窗口孙丽 (窗口人员, T-LG)")
    form.find_element(By.NAME, "reason").send_keys("张伟请假，转孙丽办理")
    shot(d, "board-reassign", tmp_path)
    click_and_load(d, form.find_element(By.TAG_NAME, "button"))
    assert "窗口孙丽" in d.find_element(By.CSS_SELECTOR, ".flash.ok").text
    d.get(console_hub.url + f"/console/requests/{no}")  # its events, before it leaves this level
    assert "released" in d.page_source and "窗口孙丽" in d.page_source
    shot(d, "request", tmp_path)
    d.get(console_hub.url + "/console/board")
    row = d.find_element(By.ID, f"r-{no}")
    row.find_element(By.TAG_NAME, "summary").click()
    form = row.find_element(By.CSS_SELECTOR, "form.escalate")
    form.find_element(By.NAME, "reason").send_keys("需要审批科长协调")
    click_and_load(d, form.find_element(By.TAG_NAME, "button"))
    assert d.find_element(By.CSS_SELECTOR, ".flash.ok").text
    with console_hub.sessions() as s:
        req = s.scalar(select(ProxyRequest).where(ProxyRequest.request_no == no))
        assert (req.level, req.holder) == (2, "window:窗口孙丽")
    assert not d.find_elements(By.ID, f"r-{no}")  # now above this viewer's level: the board no longer lists it

    # The statistics with their charts.
    d.get(console_hub.url + "/console/stats")
    charts = d.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(charts) >= 4 and all(d.execute_script("return arguments[0].naturalWidth", c) > 0 for c in charts)
    shot(d, "stats", tmp_path)

    # The 差评 list: the citizen's HTML is text; record a rectification.
    d.get(console_hub.url + "/console/evaluations")
    row = d.find_element(By.ID, f"e-{bad_id}")
    assert "<script>alert('x')</script>" in row.text  # shown as text, never run (an alert would fail the test)
    row.find_element(By.TAG_NAME, "summary").click()
    form = row.find_element(By.CSS_SELECTOR, "form.rectify")
    Select(form.find_element(By.NAME, "status")).select_by_value("rectified")
    form.find_element(By.NAME, "note").send_keys("已修复排队叫号系统并约谈窗口")
    shot(d, "evaluations", tmp_path)
    click_and_load(d, form.find_element(By.TAG_NAME, "button"))
    assert str(bad_id) in d.find_element(By.CSS_SELECTOR, ".flash.ok").text
    with console_hub.sessions() as s:
        assert s.get(Evaluation, bad_id).rectification_status == "rectified"

    # Export the 差评 table as CSV and XLSX through the page's own links.
    d.find_element(By.CSS_SELECTOR, "#t-bad_reviews a.export-csv").click()
    path = wait_file(d.downloads, ".csv")
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    assert rows[0][0] in ("No.", "编号") and any("<script>" in cell for r in rows for cell in r)
    d.find_element(By.CSS_SELECTOR, "#t-bad_reviews a.export-xlsx").click()
    assert wait_file(d.downloads, ".xlsx").read_bytes()[:2] == b"PK"

    d.get(console_hub.url + "/console/devices")
    assert "printer" in d.page_source
    shot(d, "devices", tmp_path)
    click_and_load(d, d.find_element(By.ID, "logout"))
    assert d.find_element(By.ID, "token")
