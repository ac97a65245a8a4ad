"""`kiosk tour --role counter`: one PNG per counter screen, with the stems the issue lists, none blank."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

pytestmark = [pytest.mark.ui, pytest.mark.slow]

STEMS = {"clerk_login", "queue", "material", "request_detail", "proxy_signature", "entry_form", "collect", "handout",
         "handout_refused", "escalation", "training"}


def test_counter_tour_writes_every_counter_screen(tmp_path):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_KIOSK_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    out = tmp_path / "tour"
    proc = subprocess.run([sys.executable, "-m", "kiosk", "tour", "--out", str(out), "--role", "counter", "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    names = {os.path.basename(p)[:-4] for p in result["screens"]}
    assert STEMS <= names, STEMS - names
    for name in STEMS:
        img = Image.open(out / f"{name}.png").convert("L")
        lo, hi = img.getextrema()
        assert hi - lo > 100, f"{name}.png is blank"
    assert (out / "receipt_preview.png").exists()  # the last slip printed
