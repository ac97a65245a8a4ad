"""A kiosk restarting after a crash removes the unfinished session's pages and old receipt previews."""
import os
import time

from kiosk.config import Config
from kiosk.terminal import RECEIPT_KEEP_S, Terminal


def test_leftovers_are_cleaned_at_start(tmp_path):
    cfg = Config()
    cfg.kiosk.data_dir = str(tmp_path)
    terminal = Terminal(cfg)
    scratch = tmp_path / "sessions" / "s-crashed"
    scratch.mkdir(parents=True)
    (scratch / "M01-1.pdf").write_bytes(b"%PDF personal page")
    receipts = tmp_path / "receipts"
    receipts.mkdir()
    old = receipts / "K0001-20260101-0001.png"
    new = receipts / "K0001-20261122-0001.png"
    old.write_bytes(b"png")
    new.write_bytes(b"png")
    past = time.time() - RECEIPT_KEEP_S - 60
    os.utime(old, (past, past))
    terminal.clean_leftovers()
    assert not (tmp_path / "sessions").exists()
    assert not old.exists() and new.exists()
