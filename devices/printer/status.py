"""Real-time status (`DLE EOT 1–4`) decoded into the device state model (DESIGN §7).

A reply is one byte of the form 0xx1xx10b (bits 0 and 7 clear, bits 1 and 4 set; Epson `dle_eot.html`); anything
else is not a status reply and is ignored. Silence is never "paper ok": python-escpos 3.1's `paper_status()`
returns 2 ("adequate") when the printer says nothing, so we do not use it.
"""
from __future__ import annotations

from dataclasses import dataclass

from devices.model import Paper, Status

# Epson ESC/POS reference, DLE EOT n (printing reference §3.4); masks from receiptline/receiptio (§3.6).
STATUS_MASK, STATUS_FIXED = 0x93, 0x12
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR = 1, 2, 3, 4
# n = 1 printer status
BIT1_DRAWER = 0x04
BIT1_OFFLINE = 0x08
BIT1_WAIT_RECOVERY = 0x20
BIT1_FEED_PAPER = 0x40
# n = 2 offline cause
BIT2_COVER_OPEN = 0x04
BIT2_FEED_BUTTON = 0x08
BIT2_PAPER_END_STOP = 0x20
BIT2_ERROR = 0x40
# n = 3 error cause
BIT3_MECHANICAL = 0x04
BIT3_AUTOCUTTER = 0x08
BIT3_UNRECOVERABLE = 0x20
BIT3_AUTO_RECOVERABLE = 0x40
# n = 4 roll paper sensor: bits 2,3 near end; bits 5,6 paper end
BITS4_NEAR_END = 0x0C
BITS4_PAPER_END = 0x60
# GS r 1 reply (paper sensor, different bit positions): bits 0,1 near end; bits 2,3 paper end; form (b & 0x90) == 0
GSR_NEAR_END = 0x03
GSR_PAPER_END = 0x0C


def is_status_byte(b: int) -> bool:
    return (b & STATUS_MASK) == STATUS_FIXED


def is_gs_r_reply(b: int) -> bool:
    return (b & 0x90) == 0


@dataclass
class Replies:
    """The bytes the printer answered to DLE EOT 1–4; None where it said nothing valid."""

    printer: int | None = None
    offline_cause: int | None = None
    error_cause: int | None = None
    paper: int | None = None


def paper_state(b: int | None) -> Paper:
    if b is None or not is_status_byte(b):
        return Paper.UNKNOWN
    if b & BITS4_PAPER_END == BITS4_PAPER_END:
        return Paper.EMPTY
    if b & BITS4_NEAR_END == BITS4_NEAR_END:
        return Paper.NEAR_END
    return Paper.OK


def _error(code: str, message: str, action: str) -> dict:
    return {"code": code, "message": message, "action": action}


SILENT = _error("printer_silent", "the printer did not answer the status query",
                "check that the printer is switched on and its cable is plugged in; then try again")
NO_DEVICE = _error("printer_gone", "the printer connection was lost",
                   "check the cable or network; reconnect the printer")
ONE_WAY = _error("status_one_way", "this connection cannot read printer status; paper state is unknown",
                 "after printing, check that the receipt came out; if not, ask staff")
COVER_OPEN = _error("cover_open", "the printer cover is open", "close the printer cover")
PAPER_EMPTY = _error("paper_empty", "the printer is out of paper", "load a new paper roll")
PAPER_NEAR_END = _error("paper_near_end", "the paper roll is nearly used up", "replace the paper roll soon")
CUTTER_ERROR = _error("cutter_error", "the paper cutter is jammed", "open the cover, clear the jam, close the cover")
UNRECOVERABLE = _error("hardware_error", "the printer reports an unrecoverable error", "switch the printer off and on; call maintenance if it stays")
MECHANICAL = _error("mechanical_error", "the printer reports a mechanical error", "check the print head and paper path; call maintenance if it stays")
AUTO_RECOVERABLE = _error("auto_recovering", "the printer is recovering by itself (head too hot or cover opened while printing)", "wait a moment")
OFFLINE = _error("printer_offline", "the printer is offline", "press the printer's online/feed button or check its panel")


def summarize(r: Replies) -> dict:
    """The `kiosk printer status --json` document for a set of replies."""
    if r.printer is None or not is_status_byte(r.printer):
        return {"online": False, "status": Status.OFFLINE.value, "paper": Paper.UNKNOWN.value,
                "cover_open": None, "cutter_error": None, "errors": [SILENT]}
    off = r.offline_cause if r.offline_cause is not None and is_status_byte(r.offline_cause) else None
    err = r.error_cause if r.error_cause is not None and is_status_byte(r.error_cause) else None
    paper = paper_state(r.paper)
    cover_open = bool(off & BIT2_COVER_OPEN) if off is not None else None
    cutter_error = bool(err & BIT3_AUTOCUTTER) if err is not None else None
    offline = bool(r.printer & BIT1_OFFLINE)
    if off is not None and off & BIT2_PAPER_END_STOP:
        paper = Paper.EMPTY  # stopped by paper end, even without a roll sensor reply
    errors: list[dict] = []
    status = Status.ONLINE
    if err is not None and err & (BIT3_UNRECOVERABLE | BIT3_MECHANICAL | BIT3_AUTOCUTTER):
        status = Status.HARDWARE_ERROR
        if err & BIT3_AUTOCUTTER:
            errors.append(CUTTER_ERROR)
        if err & BIT3_MECHANICAL:
            errors.append(MECHANICAL)
        if err & BIT3_UNRECOVERABLE:
            errors.append(UNRECOVERABLE)
    if cover_open:
        errors.append(COVER_OPEN)
    if paper is Paper.EMPTY:
        errors.append(PAPER_EMPTY)
    if status is Status.ONLINE and (cover_open or paper is Paper.EMPTY):
        status = Status.USER_ERROR
    if status is Status.ONLINE and err is not None and err & BIT3_AUTO_RECOVERABLE:
        status = Status.BUSY
        errors.append(AUTO_RECOVERABLE)
    if status is Status.ONLINE and offline:
        status = Status.OFFLINE
        errors.append(OFFLINE)
    if paper is Paper.NEAR_END:
        errors.append(PAPER_NEAR_END)
    return {"online": True, "status": status.value, "paper": paper.value, "cover_open": cover_open,
            "cutter_error": cutter_error, "errors": errors}


def one_way_status() -> dict:
    """A one-way transport (a device file): we can print, but we cannot know the paper."""
    return {"online": True, "status": Status.ONLINE.value, "paper": Paper.UNKNOWN.value,
            "cover_open": None, "cutter_error": None, "errors": [ONE_WAY]}


def lost_status() -> dict:
    return {"online": False, "status": Status.NO_DEVICE.value, "paper": Paper.UNKNOWN.value,
            "cover_open": None, "cutter_error": None, "errors": [NO_DEVICE]}


def printable(status: dict) -> bool:
    """True if a job may be sent now: the printer answered (or cannot answer at all), is online and has paper."""
    return bool(status.get("online")) and status.get("status") == Status.ONLINE.value and status.get("paper") != Paper.EMPTY.value
