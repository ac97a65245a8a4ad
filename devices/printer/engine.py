"""The mechanics of a simulated ESC/POS printer, independent of how bytes reach it.

Shared by the TCP simulator (`simulator.py`) and the fake pyusb device (`fakeusb.py`). It behaves like a real
printer where it matters for the kiosk: real-time commands (`DLE EOT n`, `DLE ENQ n`) are answered at once,
even offline; when the paper is out or the cover is open, print data is *held* in the buffer and printed when
the fault is cleared — unless `DLE ENQ 2` cleared it first. `GS r 1` is answered in order with the print data,
so it only comes back once everything before it has been printed.
"""
from __future__ import annotations

import threading
from typing import Callable

from devices.printer.decoder import tokenize
from devices.printer.status import GSR_NEAR_END, GSR_PAPER_END

STATES = ("ok", "near_end", "empty", "cover_open", "silent")

# DLE EOT 1..4 replies per state (0xx1xx10b; printing reference §3.4)
_REPLIES = {
    "ok": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "empty": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
}
_GS_R = {"ok": 0x00, "near_end": GSR_NEAR_END, "empty": GSR_PAPER_END, "cover_open": 0x00}


class PrinterEngine:
    """Feed it bytes; it calls `reply(bytes)` with what the printer sends back and keeps what it printed."""

    def __init__(self, state: str = "ok", on_print: Callable[[bytes], None] | None = None,
                 paper_out_after: int | None = None) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        self.state = state
        self.received = bytearray()  # printed job bytes (status queries excluded)
        self.held = bytearray()  # accepted while not ready; printed on recovery unless cleared
        self.cleared_jobs = 0
        self._pending = b""  # an incomplete command at the end of the last chunk
        self._kanji = False
        self._held_queries = 0  # GS r 1 queries waiting behind held data
        self._on_print = on_print
        self.paper_out_after = paper_out_after  # fault injection: the roll ends after this many printed bytes
        self._lock = threading.RLock()

    @property
    def ready(self) -> bool:
        return self.state in ("ok", "near_end")

    def set_state(self, state: str, reply: Callable[[bytes], None] | None = None) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        with self._lock:
            self.state = state
            if self.ready and self.held:  # what a real printer does when paper is loaded again
                self._print(bytes(self.held))
                self.held.clear()
                if reply is not None:
                    for _ in range(self._held_queries):
                        reply(bytes([_GS_R[self.state]]))
                self._held_queries = 0

    def _print(self, data: bytes) -> None:
        self.received += data
        if self._on_print is not None:
            self._on_print(data)

    def feed(self, data: bytes, reply: Callable[[bytes], None]) -> None:
        with self._lock:
            buf = self._pending + data
            tokens, used, self._kanji = tokenize(buf, strict=False, kanji=self._kanji, kanji_default=False)
            self._pending = buf[used:]
            job = bytearray()
            for t in tokens:
                if t.name == "DLE EOT":
                    if self.state != "silent" and t.args[0] in (1, 2, 3, 4):
                        reply(bytes([_REPLIES[self.state][t.args[0]]]))
                elif t.name == "DLE ENQ":
                    if t.args[0] == 2:  # recover after clearing the receive and print buffers
                        job.clear()
                        if self.held:
                            self.cleared_jobs += 1
                        self.held.clear()
                        self._held_queries = 0
                elif t.name == "GS r":
                    self._flush(job)
                    job.clear()
                    if self.state == "silent":
                        continue
                    if self.ready:
                        reply(bytes([_GS_R[self.state]]))
                    else:
                        self._held_queries += 1
                else:
                    job += t.raw
            self._flush(job)

    def _flush(self, job: bytearray) -> None:
        if not job:
            return
        if self.ready and self.paper_out_after is not None:
            room = max(0, self.paper_out_after - len(self.received))
            if len(job) > room:  # the roll ends mid-job: the rest stays in the buffer
                self._print(bytes(job[:room]))
                self.held += job[room:]
                self.state = "empty"
                self.paper_out_after = None
                return
        if self.ready:
            self._print(bytes(job))
        else:
            self.held += job
