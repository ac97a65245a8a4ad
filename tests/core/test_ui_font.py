"""The UI font is the Simplified Chinese face, extracted once, static, Regular and Bold."""
from fontTools.ttLib import TTFont

from kiosk.fonts import SC_FAMILY, ensure_ui_fonts


def test_extracts_simplified_chinese_regular_and_bold(tmp_path):
    fonts = ensure_ui_fonts(tmp_path)
    for path, weight in ((fonts.regular, "Regular"), (fonts.bold, "Bold")):
        assert path.suffix == ".otf"
        font = TTFont(str(path))
        names = {r.toUnicode() for r in font["name"].names if r.nameID in (1, 16)}
        assert SC_FAMILY in names, names
        assert "fvar" not in font  # not a variable font (it would render Thin)
        cmap = font.getBestCmap()
        for ch in "直骨角写社保缴费身份证请取走您的和材料原件￥，。":
            assert ord(ch) in cmap, ch
        subfamily = {r.toUnicode() for r in font["name"].names if r.nameID in (2, 17)}
        assert weight in subfamily
    mtime = fonts.regular.stat().st_mtime_ns
    again = ensure_ui_fonts(tmp_path)
    assert again.regular.stat().st_mtime_ns == mtime  # extracted once, reused afterwards
