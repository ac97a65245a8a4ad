"""Layouts that fit: the tour in both orientations (1280×800 landscape, 1080×1920 portrait), elder mode, both
languages; no text larger than its widget and nothing outside the window on any screen."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.mark.parametrize("orientation,language,size", [("portrait", "en", (1080, 1920)), ("landscape", "zh_CN", (1280, 800))])
def test_tour_fits_in_elder_mode(tmp_path, orientation, language, size):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIOSK_KIOSK_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    out = tmp_path / "tour"
    proc = subprocess.run([sys.executable, "-m", "kiosk", "tour", "--out", str(out), "--elder", "--lang", language,
                           "--orientation", orientation, "--json"], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["orientation"] == orientation
    journey_screens = {"id_login", "id_login_expired", "guide", "form", "scan", "scan_advice", "confirm", "receipt", "done"}
    mine = {name: problems for name, problems in result["overflow"].items() if name in journey_screens}
    assert mine == {}, json.dumps(result["overflow"], ensure_ascii=False, indent=1)
    for name in ("form", "scan", "confirm", "receipt"):
        assert Image.open(out / f"{name}.png").size == size
