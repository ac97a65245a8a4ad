"""The ID-card reader as the kiosk uses it: `read_card` (one-shot) and `CardWatcher` (background polling).

    card = read_card("/dev/idcard", timeout=10)            # raises DeviceAbsent / DeviceTimeout / InvalidData
    watcher = CardWatcher("auto", on_event=handle); watcher.start(); ...; watcher.stop()
"""
from __future__ import annotations

import logging
import time
from typing import Iterable

from devices.errors import DeviceAbsent, DeviceError, DeviceTimeout
from devices.idcard.card import CardData
from devices.idcard.frames import FrameError
from devices.idcard.link import PortLost
from devices.idcard.ports import candidate_ports, is_reserved
from devices.idcard.sam import IdCardReader, parse_baud
from devices.idcard.status_codes import CardReadFailed
from devices.idcard.watcher import CardEvent, CardWatcher  # noqa: F401  (public API)

log = logging.getLogger("devices.idcard")

POLL_S = 0.2  # reference §9.1: poll about every 200 ms


def open_reader(port: str, baud: str | int = "auto", exclude_ports: Iterable[str] = (),
                preferred_baud: int | None = None) -> IdCardReader:
    """An opened, probed reader on `port`, or on the first candidate that answers when `port` is "auto"."""
    exclude = list(exclude_ports)
    parse_baud(baud)
    if port and port != "auto":
        if is_reserved(port, exclude):
            raise DeviceAbsent("port_reserved", f"port {port} is configured for another device, not the ID-card reader",
                               "set devices.idcard.port to the reader's own port")
        reader = IdCardReader(port, baud)
        reader.open(preferred_baud)
        return reader
    candidates = candidate_ports(exclude)
    if not candidates:
        raise DeviceAbsent("no_port", "no serial port for the ID-card reader was found (looked for /dev/idcard, "
                           "/dev/serial/by-id/*, /dev/ttyUSB*, /dev/ttyACM*)",
                           "plug in the reader, or set devices.idcard.port in the config")
    failures = []
    for candidate in candidates:
        reader = IdCardReader(candidate, baud)
        try:
            reader.open(preferred_baud)
            return reader
        except DeviceError as exc:
            failures.append(f"{candidate}: {exc.message}")
    raise DeviceAbsent("no_reader", "no ID-card reader answered on " + "; ".join(failures),
                       "check that the reader is plugged in and powered, or set devices.idcard.port")


def read_card(port: str, baud: str | int = "auto", timeout: float = 10.0, fingerprint: bool = False,
              exclude_ports: Iterable[str] = ()) -> CardData:
    """Wait up to `timeout` seconds for a card and read it: `30 01` (or `30 10` with fingerprint) and `30 03`.

    A reader that does not answer when the port is opened (a busy machine, a port just reopened) is asked again
    until the timeout; one that is absent (no such port) is reported at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader = open_reader(port, baud, exclude_ports)
            break
        except DeviceAbsent:
            raise
        except DeviceTimeout as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("ID-card reader silent when opened, asking again: %s", exc.code)
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
    last_error: DeviceError | None = None
    try:
        while True:
            try:
                if reader.find():
                    return reader.read_card(fingerprint=fingerprint)
            except (CardReadFailed, FrameError) as exc:  # card moved, or a reply got mangled: try again
                last_error = exc
                log.info("card read failed, retrying: %s", exc.code)
            except DeviceTimeout as exc:
                last_error = exc
            except PortLost:
                raise
            if time.monotonic() >= deadline:
                if last_error is not None:
                    raise last_error
                raise DeviceTimeout("no_card", f"no ID card was placed on the reader within {timeout:g} s",
                                    "place the card flat on the reader and try again")
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
    finally:
        reader.close()
