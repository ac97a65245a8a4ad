"""GA 467 SAM commands over a `SamLink`: probe, status, SAM ID, find, select, read, latest address, set baud.

Each method sends one command and turns SW3 into a result or a typed error (status_codes). `60 xx` set-baud is
sent only by `set_baud()`, never by probing: the SAM stores the rate for good (reference §3).
"""
from __future__ import annotations

import logging
import time

from devices.errors import DeviceTimeout
from devices.idcard import frames
from devices.idcard.card import CardData, decode_address_reply, decode_read_reply
from devices.idcard.frames import FrameError, Reply
from devices.idcard.link import BAUD_RATES, SamLink, wire_seconds
from devices.idcard.status_codes import SW3_FIND_OK, SW3_NO_CARD, SW3_NO_CONTENT, SW3_OK, CardReadFailed, SamFault, error_for_sw3

log = logging.getLogger("devices.idcard")

PROBE_CARD_TIME_S = 0.3  # a SAM answers 11 FF within a few ms; silence this long means wrong rate or no reader
TRANSIENT_RETRIES = 3  # reference §10: "retry 41/81 a few times"


def parse_baud(baud: str | int) -> int | None:
    """None for "auto", else one of the five GA 467 rates."""
    if baud in ("auto", None, ""):
        return None
    try:
        rate = int(baud)
    except (TypeError, ValueError):
        rate = 0
    if rate not in BAUD_RATES:
        from devices.errors import InvalidData

        raise InvalidData("bad_baud", f"baud rate {baud!r} is not one a GA 467 reader supports",
                          "use auto, 115200, 57600, 38400, 19200 or 9600")
    return rate


def format_sam_id(data: bytes) -> str:
    """`12 FF` data (16 bytes, little-endian integers) as printed by vendors: 05.01-20101129-0001228293-0296863149 (reference §5.1)."""
    if len(data) != 16:
        raise FrameError(f"SAM ID reply carries {len(data)} data bytes, expected 16", 10)
    a = int.from_bytes(data[0:2], "little")
    b = int.from_bytes(data[2:4], "little")
    c = int.from_bytes(data[4:8], "little")
    d = int.from_bytes(data[8:12], "little")
    e = int.from_bytes(data[12:16], "little")
    return f"{a:02d}.{b:02d}-{c}-{d:010d}-{e:010d}"


class IdCardReader:
    """A GA 467 reader on one serial port. One thread owns it."""

    def __init__(self, port: str, baud: str | int = "auto") -> None:
        self.port = port
        self.fixed_baud = parse_baud(baud)
        self.link = SamLink(port, self.fixed_baud or BAUD_RATES[0])

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self, preferred_baud: int | None = None) -> int:
        """Open the port and find the rate the SAM answers `11 FF` at; return it."""
        self.link.open()
        try:
            return self.probe(preferred_baud)
        except BaseException:
            self.link.close()
            raise

    def close(self) -> None:
        self.link.close()

    def cancel(self) -> None:
        self.link.cancel()

    def __enter__(self) -> "IdCardReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def baud(self) -> int:
        return self.link.baud

    def probe(self, preferred_baud: int | None = None) -> int:
        """SAM status (`11 FF`) at 115200 first, then 57600/38400/19200/9600 — never `60 xx` (reference §9.2)."""
        rates = [self.fixed_baud] if self.fixed_baud else list(BAUD_RATES)
        if preferred_baud in rates:
            rates.remove(preferred_baud)
            rates.insert(0, preferred_baud)
        for rate in rates:
            self.link.baud = rate
            try:
                reply = self.link.transact(*frames.CMD_SAM_STATUS, card_time=PROBE_CARD_TIME_S)
            except (DeviceTimeout, FrameError):
                log.debug("no GA 467 answer on %s at %d baud", self.port, rate)
                continue
            if reply.sw3 == SW3_OK:
                log.info("ID-card reader on %s answers at %d baud", self.port, rate)
                return rate
            err = error_for_sw3(reply.sw3, "SAM status", reply.sw1, reply.sw2)
            if isinstance(err, SamFault):
                raise err
        tried = ", ".join(str(r) for r in rates)
        raise DeviceTimeout("no_answer", f"no GA 467 ID-card reader answered on {self.port} at {tried} baud",
                            "check that the reader is powered and that this is its port; readers that do not speak "
                            "GA 467 (AA AA AA 96 69) natively are not supported")

    # -- commands -----------------------------------------------------------------------------
    def _command(self, cmd: tuple[int, int], ok: tuple[int, ...] = (SW3_OK,), data: bytes = b"") -> Reply:
        reply = self.link.transact(cmd[0], cmd[1], data)
        if reply.sw3 not in ok:
            raise error_for_sw3(reply.sw3, frames.command_name(*cmd), reply.sw1, reply.sw2)
        return reply

    def reset(self) -> None:
        self._command(frames.CMD_RESET)

    def sam_status(self) -> None:
        self._command(frames.CMD_SAM_STATUS)

    def sam_id(self) -> str:
        return format_sam_id(self._command(frames.CMD_SAM_ID).data)

    def find(self) -> bool:
        """True when a card is in the field (SW3 9F), False on 80."""
        reply = self._command(frames.CMD_FIND, ok=(SW3_FIND_OK, SW3_NO_CARD))
        return reply.sw3 == SW3_FIND_OK

    def select(self) -> None:
        self._command(frames.CMD_SELECT)

    def read_text_photo(self) -> CardData:
        return decode_read_reply(self._command(frames.CMD_READ_TEXT_PHOTO))

    def read_with_fingerprint(self) -> CardData:
        return decode_read_reply(self._command(frames.CMD_READ_WITH_FINGERPRINT))

    def read_latest_address(self) -> str | None:
        return decode_address_reply(self._command(frames.CMD_READ_LATEST_ADDRESS, ok=(SW3_OK, SW3_NO_CONTENT)))

    def set_max_rf_bytes(self, count: int = 80) -> None:
        """`61 FF nn`: bytes per RF frame between SAM and card; 80 is what vendor demos set (reference §3)."""
        if not 1 <= count <= 255:
            raise ValueError("count must be 1..255")
        self._command(frames.CMD_SET_MAX_RF_BYTES, data=bytes([count]))

    def set_baud(self, rate: int) -> None:
        """Change the SAM's UART rate. The SAM keeps it across power cycles: only on explicit request."""
        para = frames.BAUD_PARA.get(int(rate))
        if para is None:
            raise ValueError(f"unsupported rate {rate}")
        self.link.send(frames.encode_command(frames.CMD_SET_BAUD, para))
        try:  # the reply may come at the old or the new rate (reference §3: not stated)
            reply = self.link.receive(0.5, "set baud rate")
        except (DeviceTimeout, FrameError):
            reply = None
        self.link.baud = rate
        time.sleep(0.005)  # "需要延时5毫秒，然后才能继续与SAM通信"
        if reply is not None and reply.sw3 != SW3_OK:
            raise error_for_sw3(reply.sw3, "set baud rate", reply.sw1, reply.sw2)
        self.sam_status()

    # -- the read cycle -----------------------------------------------------------------------
    def read_card(self, fingerprint: bool = False, latest_address: bool = True) -> CardData:
        """Select and read the card just found (`find()` returned True): `30 01`, or `30 10` when fingerprint is
        asked, then `30 03` for cards that carry an address. Transient 41/81 are retried here."""
        attempt = 0
        while True:
            try:
                self.select()
                card = self.read_with_fingerprint() if fingerprint else self.read_text_photo()
                if latest_address and card.card_type in ("resident", "gat_residence"):
                    card.address_latest = self.read_latest_address()
                return card
            except CardReadFailed:
                attempt += 1
                if attempt >= TRANSIENT_RETRIES:
                    raise
                if not self.find():
                    raise


def cycle_wire_floor_ms(baud: int, reply_bytes: int = 1295) -> float:
    """Wire time of find → select → read at `baud`: all bytes both ways at 10 bits a byte (benchmark floor)."""
    sent = 3 * 10
    received = 15 + 19 + reply_bytes
    return wire_seconds(sent + received, baud) * 1000
