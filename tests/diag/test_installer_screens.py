"""The installer screens in the real app, offscreen, on a simulated site: the hidden gesture, the PIN pad with its
growing delay, live status per group with run buttons, card-read test (masked), test page, camera view with the
sharpness meter, export (file, printout, hub copy a supervisor lists), the configuration wizard, and the terminal
getting its devices back afterwards."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("ui_installer.py")
pytestmark = [pytest.mark.ui, pytest.mark.slow]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_installer_screens(tmp_path, language):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_UI_SHOTS=str(tmp_path / "shots"))
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(SCRIPT), language], capture_output=True, text=True, env=env, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-6000:]
    r = json.loads(lines[-1][len("RESULT "):])
    assert r["three_taps_stay_home"]
    assert r["waits"] == [0, 0, 1] and r["locked_enter_disabled"]  # the third wrong PIN locks the pad
    assert set(r["verdicts"].values()) == {"ok"}
    assert "*" in r["card_message"] and "1237" in r["card_message"]
    assert "王" in r["card_message"] and "王小" not in r["card_message"]  # masked: first character only
    assert r["test_page_bytes"] > 1000
    assert r["meter"] >= 0.4
    assert r["printer_after_near_end"] == "warning" and "printer.paper" in r["paper_row"]
    assert r["printer_after_paper_loaded"] == "ok"
    assert [(x["device_id"], x["failing"]) for x in r["hub_reports"]] == [("K0001", ["printer.paper"])]
    assert "2592×1944" in r["found_text"] and "tcp://127.0.0.1:" in r["found_text"]
    assert r["back_home"]
    assert r["released"] and r["old_screen_detached"]  # left for home: the installer's screens are not held
    assert r["reopened_new_screen"]  # built anew, and its checks run again (the paper is still near its end)
    assert r["reopened_verdicts"] == {**{g: "ok" for g in r["verdicts"]}, "printer": "warning"}
    for name in ("installer_pin_locked", "installer", "installer_camera", "installer_exported", "setup"):
        assert (tmp_path / "shots" / language / f"{name}.png").stat().st_size > 10_000
