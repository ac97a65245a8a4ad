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


def test_extraction_runs_outside_the_kiosk_process(tmp_path):
    # fontTools reading the collection would stay in the app's memory for its whole life.
    import subprocess
    import sys

    code = ("import sys; from kiosk.fonts import ensure_ui_fonts; "
            f"ensure_ui_fonts({str(tmp_path)!r}); print(sorted(m for m in sys.modules if m.startswith('fontTools')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert (tmp_path / "fonts" / "NotoSansCJKsc-Regular.otf").stat().st_size > 1_000_000


def test_a_damaged_collection_is_told_and_leaves_no_file(tmp_path, monkeypatch):
    import pytest

    from kiosk import fonts

    damaged = tmp_path / "NotoSansCJK-Regular.ttc"
    damaged.write_bytes(b"ttcf" + b"\0" * 64)
    monkeypatch.setattr(fonts, "_find_collection", lambda filename: damaged)
    with pytest.raises(fonts.FontMissing) as caught:
        fonts.ensure_ui_fonts(tmp_path / "data")
    assert "could not be extracted" in caught.value.message and str(damaged) in caught.value.message
    assert "fonts-noto-cjk" in caught.value.action
    assert list((tmp_path / "data" / "fonts").glob("*")) == []


def test_extraction_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    # A directory holding another `kiosk` package (an older checkout, say) must not answer for the child.
    from kiosk import fonts

    other = tmp_path / "elsewhere" / "kiosk"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "fonts.py").write_text("def main():\n    pass\n")
    monkeypatch.chdir(other.parent)
    made = fonts.ensure_ui_fonts(tmp_path / "data")
    assert made.regular.stat().st_size > 1_000_000 and made.bold.stat().st_size > 1_000_000


def test_an_extraction_that_hangs_is_told_and_leaves_no_file(tmp_path, monkeypatch):
    import pytest

    from kiosk import fonts

    fifo = tmp_path / "NotoSansCJK-Regular.ttc"
    import os

    os.mkfifo(fifo)  # nobody writes to it: the child's read blocks, as on a hung disk
    monkeypatch.setattr(fonts, "_find_collection", lambda filename: fifo)
    monkeypatch.setattr(fonts, "EXTRACT_TIMEOUT_S", 2)
    partial = tmp_path / "data" / "fonts" / ".extracting-k3j9.tmp"  # what a child stopped while writing leaves
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"OTTO" + b"\0" * 100)
    with pytest.raises(fonts.FontMissing) as caught:
        fonts.ensure_ui_fonts(tmp_path / "data")
    assert "did not finish within 2 s" in caught.value.message
    assert list(partial.parent.iterdir()) == []


def _subroutines(path) -> int:
    cff = TTFont(str(path))["CFF "].cff
    top = cff.topDictIndex[0]
    return len(cff.GlobalSubrs) + sum(len(getattr(fd.Private, "Subrs", None) or []) for fd in top.FDArray)


def test_the_screens_draw_with_a_copy_without_subroutines(tmp_path):
    # FreeType copies a face's subroutines into memory for every text size Kivy opens (2.5 MB against 0.7 MB).
    from kiosk.fonts import ensure_screen_fonts

    plain = ensure_ui_fonts(tmp_path)
    screen = ensure_screen_fonts(tmp_path)
    for flat, full in ((screen.regular, plain.regular), (screen.bold, plain.bold)):
        assert flat.name.endswith("-screen.otf") and flat != full
        assert _subroutines(full) > 40_000 and _subroutines(flat) == 0
        a, b = TTFont(str(flat)), TTFont(str(full))
        assert a.getGlyphOrder() == b.getGlyphOrder() and a.getBestCmap() == b.getBestCmap()
        assert {r.toUnicode() for r in a["name"].names} == {r.toUnicode() for r in b["name"].names}
    mtime = screen.regular.stat().st_mtime_ns
    assert ensure_screen_fonts(tmp_path).regular.stat().st_mtime_ns == mtime  # made once
    assert list((tmp_path / "fonts").glob(".extracting-*")) == []


def test_without_tx_the_screens_use_the_extracted_faces_and_say_why(tmp_path, monkeypatch, caplog):
    from kiosk import fonts

    monkeypatch.setattr(fonts, "TX_PATHS", (tmp_path / "nowhere" / "tx",))
    made = fonts.ensure_screen_fonts(tmp_path / "data")
    assert made.regular.name == "NotoSansCJKsc-Regular.otf" and made.bold.name == "NotoSansCJKsc-Bold.otf"
    assert "afdko-bin" in caplog.text


def test_a_failing_tx_falls_back_to_the_extracted_faces_and_leaves_nothing_behind(tmp_path, monkeypatch, caplog):
    from kiosk import fonts

    broken = tmp_path / "tx"
    broken.write_text("#!/bin/sh\necho 'tx: (cfr) invalid charstring' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(fonts, "TX_PATHS", (broken,))
    made = fonts.ensure_screen_fonts(tmp_path / "data")
    assert made.regular.name == "NotoSansCJKsc-Regular.otf" and made.regular.stat().st_size > 1_000_000
    assert "invalid charstring" in caplog.text
    assert sorted(p.name for p in (tmp_path / "data" / "fonts").iterdir()) == [
        ".tx-failed", "NotoSansCJKsc-Bold.otf", "NotoSansCJKsc-Regular.otf"]  # no copy, no temporary file


def test_a_tx_that_failed_is_not_run_again_at_every_start_but_a_new_one_is(tmp_path, monkeypatch, caplog):
    from kiosk import fonts

    runs = tmp_path / "runs"
    broken = tmp_path / "tx"
    broken.write_text(f"#!/bin/sh\necho run >> {runs}\necho 'tx: (cfr) invalid charstring' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(fonts, "TX_PATHS", (broken,))
    data = tmp_path / "data"
    fonts.ensure_screen_fonts(data)
    assert runs.read_text().count("run") == 2  # once per weight
    caplog.clear()
    made = fonts.ensure_screen_fonts(data)  # the next start
    assert made.regular.name == "NotoSansCJKsc-Regular.otf"
    assert runs.read_text().count("run") == 2  # not run again
    assert "invalid charstring" in caplog.text and fonts.TX_FAILED in caplog.text  # why, and how to try again
    assert fonts.tx_failure(data) and "invalid charstring" in fonts.tx_failure(data)
    # afdko-bin upgraded or reinstalled: another tx, tried again
    broken.write_text(broken.read_text().replace("exit 1", "exit 2"))
    fonts.ensure_screen_fonts(data)
    assert runs.read_text().count("run") == 4
    assert not list((data / "fonts").glob(".extracting-*"))
