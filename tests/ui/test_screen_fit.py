"""A screen shown for the first time is laid out at the window's size before its texts are drawn: before, a
screen never shown still had Kivy's default 100×100, and the guide's text was first drawn wrapped to 20 px (37 ms
for an item's 办事指南), then again at its width."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui


def test_a_screen_shown_first_draws_its_text_only_at_its_width():
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("screen_fit_probe.py"))],
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    r = json.loads(lines[-1][7:])
    assert r["width"] == 1200  # 1280 less the padding
    assert r["drawn_at"] and set(r["drawn_at"]) == {1200}, r
