"""A virtual GA 467 reader on a pseudo-terminal: the same bytes a real SAM sends, paced at its baud rate.

The host opens a stable symlink (like the udev link /dev/idcard) with pyserial, exactly as it would open a real
reader; unplug() removes the link and closes the pty (the host's reads fail), replug() creates a new pty and
points the link at it. The reader's own rate is compared with the rate the host set on the pty, so a wrong rate
gets silence, as on a real line. Faults are injected on request:

    bad_checksum      the next card-read reply (30 01 / 30 10) carries a wrong checksum
    drop_bytes        the next card-read reply loses bytes in the middle (the frame comes up short)
    no_answer         the next command gets no reply at all
    removed_mid_read  the card leaves the field during the next card read (SW3 41, then no card)
    wrong_baud[:N]    the reader was left at N baud (default 9600) by another program

Each fault applies once; "name:K" applies it K times, "name:always" every time.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import tempfile
import termios
import threading
import time
import tty
from collections import deque
from typing import Iterable

from devices.idcard import frames
from devices.idcard.card import CardData, encode_address, encode_read_data
from devices.idcard.frames import Command, FrameDecoder, FrameError
from devices.idcard.link import BAUD_RATES, BITS_PER_BYTE

log = logging.getLogger("devices.idcard.simulator")

FAULTS = ("bad_checksum", "drop_bytes", "no_answer", "removed_mid_read", "wrong_baud")
MODULES = ("continuous", "single")
DEFAULT_CARD_MS = 400.0  # card-side time of a 30 01 read on real readers: ~0.5 s (reference §3)
# The [PDF] capture of a 12 FF reply (reference §5.1): 05.01-20101129-0001228293-0296863149
SAM_ID = bytes.fromhex("0500010009B8320105BE1200ADC5B111")
_SPEEDS = {getattr(termios, f"B{rate}"): rate for rate in (9600, 19200, 38400, 57600, 115200, 230400)}
PACE_CHUNK_S = 0.002  # write the reply in pieces of about 2 ms of line time


def parse_faults(faults: Iterable[str]) -> tuple[dict[str, int], int | None]:
    """{fault: remaining count (-1 = always)} and the wrong baud rate, from "name", "name:K", "name:always"."""
    counts: dict[str, int] = {}
    wrong_baud = None
    for item in faults:
        item = item.strip()
        if not item:
            continue
        name, _, arg = item.partition(":")
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        if name == "wrong_baud":
            wrong_baud = int(arg) if arg else 9600
            if wrong_baud not in BAUD_RATES or wrong_baud == 115200:
                raise ValueError("wrong_baud takes 57600, 38400, 19200 or 9600")
            continue
        if arg in ("", None):
            counts[name] = 1
        elif arg == "always":
            counts[name] = -1
        elif arg.isdigit():
            counts[name] = int(arg)
        else:
            raise ValueError(f"fault {item!r}: use {name}, {name}:N or {name}:always")
    return counts, wrong_baud


def _as_card(card) -> CardData | None:
    if card is None or isinstance(card, CardData):
        return card
    return CardData.from_dict(card)


class SimulatedReader:
    """An in-process virtual reader on a pty, run by a thread. `start()` returns the port to open."""

    def __init__(self, card: dict | None = None, module: str = "continuous", faults: Iterable[str] = (),
                 card_ms: float | None = None, link_path: str | None = None, baud: int = 115200) -> None:
        if module not in MODULES:
            raise ValueError(f"module must be one of {MODULES}")
        self.module = module
        self._faults, wrong = parse_faults(faults)
        self.baud = wrong or int(baud)
        if self.baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {BAUD_RATES}")
        self.card_s = (DEFAULT_CARD_MS if card_ms is None else float(card_ms)) / 1000
        self._card = _as_card(card)
        self._own_dir = None
        if link_path is None:
            self._own_dir = tempfile.mkdtemp(prefix="idcard-sim-")
            link_path = os.path.join(self._own_dir, "ttyIDCARD")
        self.port = link_path
        self._lock = threading.RLock()
        self._selected = False
        self._read_done = False  # single module: the card stays invisible once read, until it leaves the field
        self._found = False
        self._master = self._slave = None
        self._plugged = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.received_frames = 0  # commands seen (for tests)
        self.commands: deque[tuple[int, int]] = deque(maxlen=10000)  # (CMD, Para) of recent commands, for tests

    # -- control ------------------------------------------------------------------------------
    def start(self) -> str:
        self._plug()
        self._thread = threading.Thread(target=self._run, name="idcard-simulator", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._unplug()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def place(self, card) -> None:
        card = _as_card(card)
        with self._lock:
            self._card, self._selected, self._read_done, self._found = card, False, False, False

    def remove(self) -> None:
        with self._lock:
            self._card, self._selected, self._read_done, self._found = None, False, False, False

    def unplug(self) -> None:
        with self._lock:
            self._unplug()
        self._wake()

    def replug(self) -> None:
        with self._lock:
            if not self._plugged:
                self._plug()
        self._wake()

    @property
    def card(self) -> CardData | None:
        return self._card

    def __enter__(self) -> "SimulatedReader":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the pty ------------------------------------------------------------------------------
    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        speed = getattr(termios, f"B{self.baud}")
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        tmp = f"{self.port}.{os.getpid()}.tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port)  # re-point atomically, as udev does
        # Power-up: the RF field comes back, so a card left on the reader is seen afresh.
        self._selected = self._read_done = self._found = False
        self._plugged = True

    def _unplug(self) -> None:
        if not self._plugged:
            return
        self._plugged = False
        try:
            os.unlink(self.port)
        except OSError:
            pass
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _host_baud(self) -> int | None:
        try:
            return _SPEEDS.get(termios.tcgetattr(self._slave)[5])
        except (termios.error, TypeError, OSError):
            return None

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        decoder = FrameDecoder(min_len=frames.MIN_COMMAND_LEN)
        while not self._stop.is_set():
            with self._lock:
                master = self._master if self._plugged else None
            fds = [self._wake_r] + ([master] if master is not None else [])
            try:
                readable, _, _ = select.select(fds, [], [], 0.5)
            except (OSError, ValueError):
                time.sleep(0.01)
                continue
            if self._wake_r in readable:
                try:
                    os.read(self._wake_r, 64)
                except OSError:
                    pass
            if master is None or master not in readable:
                continue
            with self._lock:
                if self._master != master:
                    continue  # unplugged or replugged meanwhile
                try:
                    data = os.read(master, 4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    continue
                host_baud = self._host_baud()
            if host_baud != self.baud:
                decoder.reset()  # at the wrong rate the reader sees noise and stays silent
                continue
            for item in decoder.feed(data):
                if isinstance(item, FrameError):
                    sw3 = 0x10 if "checksum" in item.message else 0x11  # GA 467 §4: host checksum / length error
                    self._send(master, frames.encode_reply(sw3))
                    continue
                self.received_frames += 1
                self._handle(master, frames.parse_command(item))

    def _take_fault(self, name: str) -> bool:
        with self._lock:
            left = self._faults.get(name, 0)
            if left == 0:
                return False
            if left > 0:
                self._faults[name] = left - 1
            return True

    def _sleep(self, seconds: float) -> bool:
        """Wait like the card would; False when stopping or unplugged meanwhile."""
        if seconds > 0 and self._stop.wait(seconds):
            return False
        return not self._stop.is_set()

    def _handle(self, master: int, cmd: Command) -> None:
        key = (cmd.cmd, cmd.para)
        self.commands.append(key)
        # The command itself takes its line time to arrive.
        if not self._sleep(len(cmd.raw) * BITS_PER_BYTE / self.baud):
            return
        if self._take_fault("no_answer"):
            return
        reply = self._answer(key, cmd)
        if reply is None:
            return
        old_baud = self.baud
        self._send(master, reply, old_baud)
        if cmd.cmd == frames.CMD_SET_BAUD and reply[9] == 0x90:
            self.baud = next(r for r, p in frames.BAUD_PARA.items() if p == cmd.para)
            log.info("simulated reader now at %d baud", self.baud)

    def _answer(self, key: tuple[int, int], cmd: Command) -> bytes | None:
        ok = frames.encode_reply
        if key in (frames.CMD_RESET, frames.CMD_SAM_STATUS):
            return ok(0x90)
        if key == frames.CMD_SAM_ID:
            return ok(0x90, SAM_ID)
        if cmd.cmd == frames.CMD_SET_BAUD:
            return ok(0x90) if cmd.para in frames.BAUD_PARA.values() else ok(0x21)
        if key == frames.CMD_SET_MAX_RF_BYTES:
            return ok(0x90) if len(cmd.data) == 1 else ok(0x11)
        if key == frames.CMD_FIND:
            if not self._sleep(self.card_s / 20):
                return None
            with self._lock:
                visible = self._card is not None and not (self.module == "single" and self._read_done)
                self._found = visible
                self._selected = False
            return ok(0x9F, bytes(4)) if visible else ok(0x80)
        if key == frames.CMD_SELECT:
            if not self._sleep(self.card_s / 20):
                return None
            with self._lock:
                if self._card is None or not self._found:
                    return ok(0x81)
                self._selected = True
            return ok(0x90, bytes(8))
        if key in (frames.CMD_READ_TEXT_PHOTO, frames.CMD_READ_WITH_FINGERPRINT):
            with self._lock:
                card, selected = self._card, self._selected
            if card is None or not selected:
                return ok(0x41)
            if self._take_fault("removed_mid_read"):
                self._sleep(self.card_s / 2)
                self.remove()
                return ok(0x41)
            if not self._sleep(self.card_s):
                return None
            reply = ok(0x90, encode_read_data(card, key == frames.CMD_READ_WITH_FINGERPRINT))
            with self._lock:
                self._read_done = True
            if self._take_fault("bad_checksum"):
                reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
            if self._take_fault("drop_bytes"):
                reply = reply[:300] + reply[316:]
            return reply
        if key == frames.CMD_READ_LATEST_ADDRESS:
            with self._lock:
                card, selected = self._card, self._selected
            if card is None or not selected:
                return ok(0x41)
            if not self._sleep(self.card_s / 8):
                return None
            if not card.address_latest:
                return ok(0x91)
            return ok(0x90, encode_address(card.address_latest))
        return ok(0x21)

    def _send(self, master: int, data: bytes, baud: int | None = None) -> None:
        """Write `data` at line speed: about 2 ms of bytes at a time, on an absolute schedule (no drift)."""
        baud = baud or self.baud
        per_byte = BITS_PER_BYTE / baud
        chunk = max(1, int(PACE_CHUNK_S / per_byte))
        start = time.monotonic()
        sent = 0
        while sent < len(data):
            if self._stop.is_set():
                return
            piece = data[sent:sent + chunk]
            try:
                with self._lock:
                    if self._master != master:
                        return  # unplugged mid-frame
                    written = os.write(master, piece)
            except BlockingIOError:
                written = 0
            except OSError:
                return
            sent += written
            if written == 0:
                try:
                    select.select([], [master], [], 0.05)
                except (OSError, ValueError):
                    return
                continue
            delay = start + sent * per_byte - time.monotonic()
            if delay > 0:
                time.sleep(delay)
