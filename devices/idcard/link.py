"""The reader loop over a pyserial port: send one command frame, receive exactly one reply frame.

The deadline has two parts: the card-side time of the command before the reply starts, then the wire time of
the announced length at the current baud rate (10 bits a byte) with slack. Blocking reads with timeouts, no
busy loop. Raw frames are never logged.
"""
from __future__ import annotations

import errno
import logging
import time
from typing import NoReturn

import termios

import serial

from devices.errors import DeviceAbsent, DeviceError, DeviceTimeout
from devices.idcard import frames
from devices.idcard.frames import FrameDecoder, FrameError, Reply

log = logging.getLogger("devices.idcard")

BAUD_RATES = (115200, 57600, 38400, 19200, 9600)  # GA 467 SAM_V: default first, then the settable rates
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
# Card-side time before the reply starts: 1 s for 1x/2x commands, 3 s for 30 xx reads (reference §3 "Timing in code").
CARD_TIME_S = {0x30: 3.0}
DEFAULT_CARD_TIME_S = 1.0
BUSY_WAIT_S = 1.0  # how long a locked port is asked again before it is reported in use
BUSY_POLL_S = 0.02


def wire_seconds(nbytes: int, baud: int) -> float:
    return nbytes * BITS_PER_BYTE / baud


def _lock_busy(exc: serial.SerialException) -> bool:
    """The port exists but another open file holds its lock (pyserial's `exclusive=True` is flock)."""
    return getattr(exc, "errno", None) in (errno.EBUSY, errno.EAGAIN) or "lock" in str(exc).lower()


class PortLost(DeviceAbsent):
    """The port went away under us (reader unplugged)."""


class Cancelled(DeviceError):
    """The owner asked the link to stop (CardWatcher.stop)."""


class SamLink:
    """One open serial port to a SAM. Not thread-safe: one thread owns it (reference §9.6)."""

    def __init__(self, port: str, baud: int = 115200) -> None:
        self.port = port
        self._baud = int(baud)
        self._serial: serial.Serial | None = None
        self._decoder = FrameDecoder()
        self._cancelled = False

    # -- port ---------------------------------------------------------------------------------
    def open(self) -> None:
        # The port's lock can be held for a moment by this very process: a child forked by another thread (a
        # subprocess being started) holds a copy of the port's file until it execs, and with it the lock. Another
        # program holding the port holds it for longer than BUSY_WAIT_S.
        give_up = time.monotonic() + BUSY_WAIT_S
        while True:
            try:
                self._serial = serial.Serial(self.port, self._baud, timeout=0.5, write_timeout=2.0, exclusive=True)
                break
            except serial.SerialException as exc:
                if not _lock_busy(exc) or time.monotonic() >= give_up:
                    self._open_failed(exc)
                self._check_cancelled()  # a watcher being stopped does not wait out the lock
                time.sleep(BUSY_POLL_S)
        log.debug("opened %s at %d baud", self.port, self._baud)

    def _open_failed(self, exc: serial.SerialException) -> NoReturn:
        err = getattr(exc, "errno", None)
        if err == errno.EACCES:
            raise DeviceAbsent("permission_denied", f"no permission to open the ID-card reader port {self.port}",
                               "add the kiosk user to the dialout group or install the udev rule, then log in again") from None
        if err == errno.ENOENT or "No such file" in str(exc):
            raise DeviceAbsent("no_port", f"the ID-card reader port {self.port} does not exist",
                               "plug in the reader, or set devices.idcard.port to the right port") from None
        if _lock_busy(exc):
            raise DeviceAbsent("port_busy", f"the ID-card reader port {self.port} is in use by another program",
                               "close the other program (only one may use the reader at a time)") from None
        raise DeviceAbsent("open_failed", f"cannot open the ID-card reader port {self.port}: {exc.strerror or exc}",
                           "check the cable and the port name") from None

    def close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except (OSError, serial.SerialException):
                pass

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    @property
    def baud(self) -> int:
        return self._baud

    @baud.setter
    def baud(self, rate: int) -> None:
        self._baud = int(rate)
        if self._serial is not None:
            self._serial.baudrate = self._baud

    def cancel(self) -> None:
        """Interrupt a blocking read from another thread (used by stop()); every later transaction fails fast."""
        self._cancelled = True
        ser = self._serial
        if ser is not None:
            try:
                ser.cancel_read()
            except Exception:  # the owner may be closing it at the same moment
                pass

    # -- transactions -------------------------------------------------------------------------
    def _lost(self, exc: Exception) -> PortLost:
        self.close()
        return PortLost("port_lost", f"the ID-card reader on {self.port} stopped responding at the port level ({exc})",
                        "check that the reader is plugged in; it is picked up again automatically")

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise Cancelled("cancelled", "ID-card reader: stopped", "")

    def send(self, frame: bytes) -> None:
        self._check_cancelled()
        if self._serial is None:
            raise PortLost("port_closed", f"the ID-card reader port {self.port} is not open", "open the reader first")
        try:
            self._serial.reset_input_buffer()  # a late reply to an earlier command must not be taken for this one
            self._serial.write(frame)
        except (OSError, termios.error, serial.SerialException) as exc:
            raise self._lost(exc) from None

    def receive(self, card_time: float, command: str = "reply") -> Reply:
        """Exactly one reply frame: wait `card_time` for it to start, then its wire time at this baud rate."""
        ser = self._serial
        if ser is None:
            raise PortLost("port_closed", f"the ID-card reader port {self.port} is not open", "open the reader first")
        decoder = self._decoder
        decoder.reset()
        deadline = time.monotonic() + card_time
        length_known = False
        received = 0
        while True:
            self._check_cancelled()
            if not length_known and decoder.buffered >= frames.HEADER_SIZE and decoder.bytes_needed() > 1:
                # Header in: the rest must come at wire speed (×2 and 250 ms of slack for USB-serial latency).
                length_known = True
                deadline = time.monotonic() + 2 * wire_seconds(decoder.bytes_needed(), self._baud) + 0.25
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if received and length_known:
                    raise FrameError(f"{command}: reply incomplete: {decoder.bytes_needed()} bytes still missing at the deadline",
                                     decoder.buffered, "hold the card still; check the cable and the baud rate")
                raise DeviceTimeout("no_answer", f"ID-card reader on {self.port}: no answer to {command} at {self._baud} baud",
                                    "check that the reader is powered and connected, and the baud rate")
            try:
                if ser.timeout is None or abs(ser.timeout - remaining) > 0.05:
                    ser.timeout = remaining  # pyserial re-applies termios on every change: only when it matters
                chunk = ser.read(decoder.bytes_needed())
            except (OSError, termios.error, serial.SerialException) as exc:
                raise self._lost(exc) from None
            if not chunk:
                continue
            received += len(chunk)
            for item in decoder.feed(chunk):
                if isinstance(item, FrameError):
                    if "checksum" in item.message:
                        raise FrameError(f"{command}: {item.message}", item.offset, "hold the card still; check the cable")
                    length_known = False  # impossible length: resynchronise and keep listening
                    continue
                return frames.parse_reply(item)

    def transact(self, cmd: int, para: int, data: bytes = b"", card_time: float | None = None) -> Reply:
        name = frames.command_name(cmd, para)
        frame = frames.encode_command(cmd, para, data)
        if card_time is None:
            card_time = CARD_TIME_S.get(cmd, DEFAULT_CARD_TIME_S)
        self.send(frame)
        reply = self.receive(card_time + wire_seconds(len(frame), self._baud), name)
        log.debug("%s → SW3 %02X, %d data bytes", name, reply.sw3, len(reply.data))
        return reply
