"""The window has no multisampling (33 MB of buffers at 1280×800 with Mesa's software GL): the few curved
drawings antialias themselves with Kivy's Smooth* instructions."""
import pytest
from probe_support import run_probe

pytestmark = pytest.mark.ui


def test_no_multisampling_and_the_faces_edges_still_blend():
    r = run_probe("antialias_probe.py")
    assert r["samples"] == 0
    # A plain Line has hard edges without multisampling; the face's SmoothLine and SmoothEllipse blend theirs.
    assert r["plain_blends"] < 50, r
    assert r["face_blends"] > 300, r
