"""`kiosk diag` fonts.cjk: the screens' copy of the font without subroutines is checked for, and its absence is a
warning that names the package to install (the kiosk still draws Chinese, with more memory per text size)."""
from devices.model import HealthLevel
from kiosk.config import Config
from kiosk.diag.system import check_fonts


def _check(tmp_path, lang="en") -> dict:
    cfg = Config()
    cfg.kiosk.data_dir = str(tmp_path / "data")
    return check_fonts(cfg, HealthLevel.INTERNAL, lang).as_dict()


def test_the_screens_copy_is_ok(tmp_path):
    report = _check(tmp_path)
    assert report["severity"] == "ok" and report["errors"] == []
    assert report["details"]["regular"].endswith("NotoSansCJKsc-Regular-screen.otf")


def test_without_tx_it_is_a_warning_naming_afdko_bin(tmp_path, monkeypatch):
    from kiosk import fonts

    monkeypatch.setattr(fonts, "TX_PATHS", (tmp_path / "nowhere" / "tx",))
    report = _check(tmp_path, lang="zh_CN")
    assert report["severity"] == "warning"
    [error] = report["errors"]
    assert error["code"] == "font_with_subroutines" and "afdko-bin" in error["action"] and "2.5 MB" in error["message"]
    assert report["details"]["regular"].endswith("NotoSansCJKsc-Regular.otf")


def test_a_tx_that_failed_on_the_font_is_a_warning_with_its_reason_and_how_to_retry(tmp_path, monkeypatch):
    from kiosk import fonts

    broken = tmp_path / "tx"
    broken.write_text("#!/bin/sh\necho 'tx: (cfr) invalid charstring' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(fonts, "TX_PATHS", (broken,))
    report = _check(tmp_path)
    [error] = report["errors"]
    assert error["code"] == "font_with_subroutines"
    assert "invalid charstring" in error["message"] and "--reinstall afdko-bin" in error["action"]
    assert fonts.TX_FAILED in error["action"]
    assert "invalid charstring" in report["details"]["tx_failed"]
