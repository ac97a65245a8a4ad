"""`CardWatcher`: one background thread that owns the reader, polls it and reports events; never blocks the caller.

States (named so logs and tests can follow them):

    disconnected ──open+probe──▶ waiting ──find 9F, read ok──▶ present ──find 80 ×2──▶ waiting     (continuous module)
                                    ▲                               └──find 80 (single / not yet known)──▶ unconfirmed
                                    └──────── find 80 ─── failed ◀──read fails──┘        unconfirmed ──find 9F──▶ removed + read

Modules differ once a card has been read (reference §9.1): a 连读 ("continuous") module keeps answering find with
9F while the card stays; a 不支持连读 ("single") module answers 80 although the card is still there, until it leaves
the field and comes back. With `module="auto"` the watcher learns which kind it has: a 9F after a read proves
"continuous". For a single module the wire cannot tell a card left on the reader from a card taken away, so its
"removed" event comes when the next card is found (just before that card's "placed"), never while the card stays.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from devices.errors import DeviceAbsent, DeviceError, DeviceTimeout
from devices.idcard.card import CardData
from devices.idcard.frames import FrameError
from devices.idcard.link import Cancelled, PortLost
from devices.idcard.ports import candidate_ports
from devices.idcard.sam import IdCardReader
from devices.idcard.status_codes import CardReadFailed, SamError, SamFault
from devices.model import Status

log = logging.getLogger("devices.idcard")

DISCONNECTED, WAITING, PRESENT, UNCONFIRMED, FAILED = "disconnected", "waiting", "present", "unconfirmed", "failed"
MODULES = ("auto", "continuous", "single")
REMOVAL_MISSES = 2  # consecutive 80s before a continuous module's card counts as removed (RF glitch debounce)
MAX_SILENT_POLLS = 3  # consecutive unanswered polls before the reader counts as offline
RECONNECT_S = 0.5
FAILED_RETRY_S = 2.0  # a card that failed to read is tried again after this, if it stays


@dataclass
class CardEvent:
    """kind: "placed" (card), "removed", "status" (status), "error" (error)."""

    kind: str
    card: CardData | None = None
    status: Status | None = None
    error: DeviceError | None = None


class CardWatcher:
    """Polls the reader about every `poll_ms` on a background thread and calls `on_event(CardEvent)` from it.

    An expired card is still "placed" (card.expired is True): refusing it is the application's decision.
    `on_event` runs on the watcher thread: hand results to the UI thread (Kivy: Clock.schedule_once).
    """

    def __init__(self, port: str, baud="auto", poll_ms: int = 200, on_event: Callable[[CardEvent], None] = lambda e: None,
                 exclude_ports: Iterable[str] = (), module: str = "auto", fingerprint: bool = False) -> None:
        if module not in MODULES:
            raise ValueError(f"module must be one of {MODULES}")
        self.port = port
        self.baud = baud
        self.poll_s = max(0.05, poll_ms / 1000)
        self.on_event = on_event
        self.exclude_ports = list(exclude_ports)
        self.module = module
        self.fingerprint = fingerprint
        self.status: Status = Status.OFFLINE
        self.state = DISCONNECTED
        self.card: CardData | None = None  # the card last placed, while it is (or may be) on the reader
        self._reader: IdCardReader | None = None
        self._connecting: IdCardReader | None = None
        self._last_baud: int | None = None
        self._misses = 0
        self._silent = 0
        self._retry_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported_error: str | None = None

    # -- public -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the port; returns within about a second."""
        self._stop.set()
        for reader in (self._reader, self._connecting):
            if reader is not None:
                reader.cancel()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- events -------------------------------------------------------------------------------
    def _emit(self, event: CardEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a faulty handler must not kill the watcher
            log.exception("ID-card event handler failed")

    def _set_status(self, status: Status, error: DeviceError | None = None) -> None:
        if status != self.status:
            log.info("ID-card reader status: %s", status.value)
            self.status = status
            self._emit(CardEvent("status", status=status, error=error))

    def _error(self, error: DeviceError) -> None:
        self._emit(CardEvent("error", error=error))

    def _card_gone(self) -> None:
        if self.card is not None or self.state in (PRESENT, UNCONFIRMED):
            self.card = None
            log.info("ID card removed")
            self._emit(CardEvent("removed"))

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._reader is None and not self._connect():
                    self._stop.wait(RECONNECT_S)
                    continue
                try:
                    self._poll()
                    self._silent = 0
                except Cancelled:
                    break
                except PortLost as exc:
                    log.info("ID-card reader lost: %s", exc.code)
                    self._disconnect(Status.NO_DEVICE, exc)
                except DeviceTimeout as exc:
                    self._silent += 1
                    if self._silent >= MAX_SILENT_POLLS:
                        self._disconnect(Status.OFFLINE, exc)
                except SamFault as exc:
                    self._disconnect(Status.HARDWARE_ERROR, exc)
                    self._error(exc)
                except DeviceError as exc:
                    self._error(exc)
                except Exception:  # never let the thread die silently
                    log.exception("ID-card watcher error")
                    self._disconnect(Status.OFFLINE, None)
                self._stop.wait(self.poll_s)
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _connect(self) -> bool:
        ports = [self.port] if self.port and self.port != "auto" else candidate_ports(self.exclude_ports)
        if not ports:
            self._set_status(Status.NO_DEVICE)
            return False
        last: DeviceError | None = None
        for port in ports:
            if self._stop.is_set():
                return False
            reader = IdCardReader(port, self.baud)
            self._connecting = reader
            if self._stop.is_set():  # stop() may have looked before this reader existed
                self._connecting = None
                return False
            try:
                self._last_baud = reader.open(self._last_baud)
            except Cancelled:
                return False
            except SamFault as exc:
                self._set_status(Status.HARDWARE_ERROR, exc)
                return False
            except DeviceError as exc:
                last = exc
                continue
            finally:
                self._connecting = None
            self._reader = reader
            self.state = WAITING
            self._silent = 0
            self._reported_error = None
            self._set_status(Status.ONLINE)
            return True
        if isinstance(last, DeviceAbsent):
            self._set_status(Status.NO_DEVICE, last)
            if last.code not in ("no_port", self._reported_error):  # permission denied etc.: say it once
                self._reported_error = last.code
                self._error(last)
        else:
            self._set_status(Status.OFFLINE, last)
        return False

    def _disconnect(self, status: Status, error: DeviceError | None) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.state = DISCONNECTED
        self._card_gone()  # presence cannot be known without the reader
        if status == Status.NO_DEVICE and self.port != "auto":
            import os

            if os.path.exists(self.port):
                status = Status.OFFLINE
        self._set_status(status, error)

    def _poll(self) -> None:
        reader = self._reader
        assert reader is not None
        found = reader.find()
        if self.state == PRESENT:
            if found:
                self._misses = 0
                if self.module == "auto":
                    self.module = "continuous"  # a 9F after a read: this module reads continuously
                    log.info("ID-card module reads continuously (连读)")
                return
            if self.module == "continuous":
                self._misses += 1
                if self._misses >= REMOVAL_MISSES:
                    self._card_gone()
                    self.state = WAITING
            else:
                self.state = UNCONFIRMED  # single module (or not known yet): an 80 here proves nothing
            return
        if self.state == FAILED:
            if not found:
                self.state = WAITING
                return
            if time.monotonic() < self._retry_at:
                return
        if not found:
            return
        if self.state == UNCONFIRMED:
            self._card_gone()  # a card is findable again, so the one we read has left the field
        self._read(reader)

    def _read(self, reader: IdCardReader) -> None:
        self.state = WAITING
        try:
            card = reader.read_card(fingerprint=self.fingerprint)
        except (CardReadFailed, FrameError, DeviceTimeout) as exc:
            self.state = FAILED
            self._retry_at = time.monotonic() + FAILED_RETRY_S
            if isinstance(exc, SamError) or isinstance(exc, FrameError):
                self._error(exc)
                return
            raise
        self.card = card
        self.state = PRESENT
        self._misses = 0
        log.info("ID card placed (%s)", card.card_type)  # the type only: never personal data
        self._emit(CardEvent("placed", card=card))
