"""A screen shown for the first time is laid out at the window's size before its texts are drawn: before, a
screen never shown still had Kivy's default 100×100, and the guide's text was first drawn wrapped to 20 px (37 ms
for an item's 办事指南), then again at its width."""
import pytest
from probe_support import run_probe

pytestmark = pytest.mark.ui


def test_a_screen_shown_first_draws_its_text_only_at_its_width():
    r = run_probe("screen_fit_probe.py")
    assert r["width"] == 1200  # 1280 less the padding
    assert r["drawn_at"] and set(r["drawn_at"]) == {1200}, r
