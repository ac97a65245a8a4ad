"""A receipt printer reached by a device URI: status before printing, jobs that are never left held.

Out of paper or with the cover open a printer keeps what it is sent and prints it once the fault is cleared —
the previous citizen's receipt would come out for the next one. So `print_bytes` sends nothing unless the
status says the printer can print, ends every job with `GS r 1` (answered only after the job has been
processed) and, when that answer does not come and the printer is no longer ready, clears its buffer with
`DLE ENQ 2`.
"""
from __future__ import annotations

import logging
import time

from devices.errors import DeviceAbsent, DeviceError
from devices.printer import commands as C
from devices.printer.status import (
    ERROR_CAUSE,
    OFFLINE_CAUSE,
    PAPER_SENSOR,
    PRINTER,
    Replies,
    is_gs_r_reply,
    is_status_byte,
    lost_status,
    one_way_status,
    printable,
    summarize,
)
from devices.printer.transports import Transport, open_transport
from devices.printer.uri import parse_uri

log = logging.getLogger("devices.printer")


class PrinterNotReady(DeviceError):
    """The printer cannot print now (paper out, cover open, offline, silent); nothing was left in it."""

    exit_code = 1

    def __init__(self, status: dict, cleared: bool = False) -> None:
        err = (status.get("errors") or [{"code": "printer_not_ready", "message": "the printer is not ready", "action": "ask staff"}])[0]
        super().__init__(err["code"], err["message"], err["action"])
        self.status = status
        self.cleared = cleared  # a job was sent, did not complete and was cleared from the printer


class Printer:
    """One open printer. Not thread-safe: one job or status query at a time (the app owns one worker)."""

    def __init__(self, transport: Transport, uri: str = "") -> None:
        self.transport = transport
        self.uri = uri

    # -- status -------------------------------------------------------------------------------------------
    def _query(self, n: int, timeout: float) -> int | None:
        self.transport.write(C.dle_eot(n))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            data = self.transport.read(1, max(0.0, left))
            for b in data:
                if is_status_byte(b):
                    return b
            if left <= 0 or (not data and time.monotonic() >= deadline):
                return None

    def status(self, timeout: float = 1.0) -> dict:
        """`{"online", "status", "paper", "cover_open", "cutter_error", "errors"}` — the `kiosk printer status --json` shape."""
        if not self.transport.two_way:
            return one_way_status()
        try:
            self.transport.discard_input()
            first = self._query(PRINTER, timeout)
            if first is None:
                return summarize(Replies())
            replies = Replies(first, self._query(OFFLINE_CAUSE, timeout), self._query(ERROR_CAUSE, timeout),
                              self._query(PAPER_SENSOR, timeout))
        except DeviceAbsent:
            return lost_status()
        return summarize(replies)

    # -- printing -----------------------------------------------------------------------------------------
    def print_bytes(self, data: bytes, timeout: float = 1.0, job_timeout: float = 20.0) -> None:
        """Print one job. Raises `PrinterNotReady` (with `.status`) when the printer cannot print; then nothing is left in it."""
        st = self.status(timeout)
        if not printable(st):
            raise PrinterNotReady(st)
        if not self.transport.two_way:
            self.transport.write(data)
            return
        self.transport.write(data + C.PAPER_SENSOR)
        if self._wait_done(job_timeout):
            return
        st = self.status(timeout)
        if not printable(st):
            self.transport.write(C.RECOVER_CLEAR)  # never let a held job come out for the next citizen
            self._query(PRINTER, timeout)  # answered after the clear has been taken
            log.warning("printer job did not complete; buffer cleared", extra={"printer_status": st["status"], "paper": st["paper"]})
            raise PrinterNotReady(st, cleared=True)
        log.info("printer did not confirm the job (no GS r reply) but reports ready")

    def _wait_done(self, job_timeout: float) -> bool:
        deadline = time.monotonic() + job_timeout
        while time.monotonic() < deadline:
            data = self.transport.read(1, min(0.5, max(0.0, deadline - time.monotonic())))
            if any(is_gs_r_reply(b) for b in data):
                return True
        return False

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Printer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()



def open_printer(uri: str, **opts) -> Printer:
    """Open the printer a device URI names. Raises `DeviceAbsent` for a missing port or a host that refuses."""
    if not uri:
        raise DeviceAbsent("printer_not_configured", "no printer is configured",
                           "set [devices.printer] uri in the config, or pass --device URI")
    u = parse_uri(uri)
    return Printer(open_transport(u, **opts), str(u))
