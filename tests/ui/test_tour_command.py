"""`kiosk tour` is a contract command: one PNG per screen, in every mode it offers."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

pytestmark = [pytest.mark.ui, pytest.mark.slow]

SCREENS = {"home", "id_login", "id_login_expired", "service_list", "guide", "form", "scan", "confirm", "receipt", "done"}


def test_tour_in_elder_mode_english(tmp_path):
    # The counter role tours its own screens (tests/ui/test_counter_tour.py).
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_KIOSK_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    out = tmp_path / "tour"
    proc = subprocess.run([sys.executable, "-m", "kiosk", "tour", "--out", str(out), "--elder", "--lang", "en",
                           "--role", "citizen", "--json"], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    names = {os.path.basename(p)[:-4] for p in result["screens"]}
    assert SCREENS <= names
    for name in SCREENS:
        img = Image.open(out / f"{name}.png").convert("L")
        lo, hi = img.getextrema()
        assert hi - lo > 100, f"{name}.png is blank"
    assert (out / "receipt_preview.png").exists()
