"""The counter role of the real app, offscreen, tapped through with synthetic touches against the real hub,
platform simulator and simulated devices (scenarios in counter_scenarios.py, one process each)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).with_name("counter_scenarios.py")
pytestmark = [pytest.mark.ui, pytest.mark.slow]


def run(name: str, tmp_path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_UI_SHOTS=str(tmp_path / "shots"))
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
    assert r["after_sign_out"] == "clerk_login" and r["signed_in"] is False
