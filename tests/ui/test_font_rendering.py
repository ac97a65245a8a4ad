"""Kivy draws Chinese with the Simplified Chinese faces: not tofu, not Japanese shapes, and bold is bold."""
import pytest
from probe_support import run_probe

from kiosk.fonts import FontMissing, ensure_ui_fonts

pytestmark = pytest.mark.ui


def test_kivy_renders_simplified_chinese_regular_and_bold(tmp_path):
    r = run_probe("font_probe.py", tmp_path)
    assert r["sc_regular"]["ink"] > 500
    # Bold is a different, heavier face — not the regular one drawn again.
    assert r["sc_bold"]["ink"] > r["sc_regular"]["ink"] * 1.15
    # 直骨角写 have different shapes in the Japanese face: ours are not those.
    assert r["sc_regular"]["digest"] != r["jp_regular"]["digest"]
    # Roboto has no CJK glyphs (tofu); the registered default font draws real ones, so the pictures differ.
    assert r["sc_two"]["digest"] != r["tofu_probe"]["digest"]
    # With AFDKO's tx (deploy/bootstrap.sh installs afdko-bin) the screens draw with the copy without subroutines,
    # and it draws exactly what the extracted faces draw.
    assert r["screen_files"] == ["NotoSansCJKsc-Regular-screen.otf", "NotoSansCJKsc-Bold-screen.otf"]
    assert r["same_pixels"] is True


def test_no_line_of_the_screens_text_begins_with_a_closing_mark(tmp_path):
    r = run_probe("kinsoku_probe.py", tmp_path)
    assert len(r["widths"]) >= 5  # widths at which Kivy alone strands a "。" or "，" at a line's start
    for starts in r["klabel_starts"]:
        assert not any(s in "。，；：、！？）」" for s in starts), starts
    assert r["klabel_text_kept"]  # the label's text is not changed, only how it is drawn
    assert set(r["klabel_chars"]) == {r["length"]}  # every character drawn, none twice
    assert r["klabel_widest"] <= 0  # and within the width


def test_missing_font_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr("kiosk.fonts.NOTO_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(FontMissing) as err:
        ensure_ui_fonts(tmp_path / "data")
    assert "fonts-noto-cjk" in err.value.action
    assert err.value.exit_code == 3
