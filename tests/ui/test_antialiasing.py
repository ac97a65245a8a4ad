"""The window has no multisampling (33 MB of buffers at 1280×800 with Mesa's software GL): the few curved
drawings antialias themselves with Kivy's Smooth* instructions."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui


def test_no_multisampling_and_the_faces_edges_still_blend():
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("antialias_probe.py"))],
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    r = json.loads(lines[-1][7:])
    assert r["samples"] == 0
    # A plain Line has hard edges without multisampling; the face's SmoothLine and SmoothEllipse blend theirs.
    assert r["plain_blends"] < 50, r
    assert r["face_blends"] > 300, r
