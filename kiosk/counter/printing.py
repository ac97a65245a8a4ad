"""Print a counter slip on the terminal's printer and keep its preview next to the kiosk's receipts."""
from __future__ import annotations

import logging
from pathlib import Path

from kiosk.i18n import N_

log = logging.getLogger("kiosk.counter.printing")

PRINTER_WORDS = {
    "printed": N_("The slip has been printed."),
    "one_way": N_("The slip has been sent to the printer."),
    "paper_out": N_("The printer is out of paper: the slip was not printed."),
    "cover_open": N_("The printer cover is open: the slip was not printed."),
    "printer_offline": N_("The printer is not available: the slip was not printed."),
}


def print_slip(terminal, kind: str, data: dict, name: str) -> str:
    """Render, keep a PNG preview (for the tour and a look on screen), print; returns the printer's words (msgid)."""
    from devices.files import atomic_write
    from kiosk.receipt import preview_png
    from kiosk.receipt.counter_slips import render_counter_slip

    prn = terminal.cfg.devices.printer
    escpos = render_counter_slip(kind, data, paper=prn.paper, charset=prn.charset, qr=prn.qr,
                                 hotline=terminal.cfg.kiosk.hotline)
    folder = Path(terminal.cfg.kiosk.data_dir) / "receipts"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(folder / f"{name}.bin", escpos, private=True)
    try:
        preview_png(escpos, str(folder / f"{name}.png"), paper=prn.paper)
    except Exception:
        log.exception("slip preview failed")
    _printed, outcome = terminal.print_receipt(escpos)
    return PRINTER_WORDS.get(outcome, PRINTER_WORDS["printer_offline"])
