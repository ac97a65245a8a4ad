"""Home's first frame wraps each text once, at its own width: before, every label and button was first wrapped to
Kivy's default width of 100 px (less its padding: 52, 20, 0, even -20 px, one or two characters a line) and the
hidden overlays' texts (the countdown, the card-return prompt) to their zero size, ~1,100 glyph measurements
thrown away in the same frame (screens.widgets.wait_for_layout)."""
import pytest
from probe_support import run_probe

pytestmark = pytest.mark.ui


def test_home_wraps_each_text_once_at_its_width(tmp_path):
    r = run_probe("first_frame_probe.py", tmp_path / "data", timeout=300)
    layouts, shown = r["layouts"], r["shown"]
    assert "刷身份证办理业务" in shown and shown["刷身份证办理业务"] > 300, shown
    narrow = [(x["text"][:12], x["width"]) for x in layouts if x["width"] is not None and x["width"] < 100]
    assert not narrow, narrow
    for x in layouts:
        if x["text"] in shown and x["width"] is not None:
            assert round(x["width"]) == shown[x["text"]], x  # wrapped at its final width only
    hidden = [x["text"][:12] for x in layouts if "身份证放回" in x["text"] or "秒后将清除" in x["text"]]
    assert not hidden, hidden
    assert sum(x["measured"] for x in layouts) < 200, sum(x["measured"] for x in layouts)
