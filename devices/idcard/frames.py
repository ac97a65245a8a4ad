"""GA 467 SAM frame codec: bytes in, frames out, no I/O.

Host → SAM: ``AA AA AA 96 69 | LenHi LenLo | CMD Para | Data | XOR``;
SAM → host: ``AA AA AA 96 69 | LenHi LenLo | SW1 SW2 SW3 | Data | XOR``.
Len is big-endian and counts every byte after itself, checksum included; the checksum is the XOR of
``frame[5:-1]`` (GA 467 SAM_V UART protocol, reference §2.1).
"""
from __future__ import annotations

from dataclasses import dataclass

from devices.errors import InvalidData

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"  # GA 467 SAM_V §2.1: three sync bytes + frame start 96 69
HEADER_SIZE = len(PREAMBLE) + 2  # preamble + big-endian length
MIN_COMMAND_LEN = 3  # CMD + Para + CHK
MIN_REPLY_LEN = 4  # SW1 + SW2 + SW3 + CHK
# The largest standard reply is 30 10 with two fingerprint templates: Len 0x090A, 2321 bytes (reference §2.1).
# No maximum is published; anything far beyond it is a corrupt length, not a frame worth waiting for.
MAX_LEN = 0x0A00

# Commands (CMD, Para) — GA 467 SAM_V command set (reference §3).
CMD_RESET = (0x10, 0xFF)
CMD_SAM_STATUS = (0x11, 0xFF)
CMD_SAM_ID = (0x12, 0xFF)
CMD_FIND = (0x20, 0x01)
CMD_SELECT = (0x20, 0x02)
CMD_READ_TEXT_PHOTO = (0x30, 0x01)
CMD_READ_LATEST_ADDRESS = (0x30, 0x03)
CMD_READ_WITH_FINGERPRINT = (0x30, 0x10)
CMD_SET_BAUD = 0x60
CMD_SET_MAX_RF_BYTES = (0x61, 0xFF)

# Para of `60 xx` → UART rate (reference §3); the SAM stores it for good.
BAUD_PARA = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}

COMMAND_NAMES = {
    CMD_RESET: "reset SAM",
    CMD_SAM_STATUS: "SAM status",
    CMD_SAM_ID: "read SAM ID",
    CMD_FIND: "find card",
    CMD_SELECT: "select card",
    CMD_READ_TEXT_PHOTO: "read text and photo",
    CMD_READ_LATEST_ADDRESS: "read latest address",
    CMD_READ_WITH_FINGERPRINT: "read text, photo and fingerprint",
    CMD_SET_MAX_RF_BYTES: "set max RF bytes",
}


def command_name(cmd: int, para: int) -> str:
    if cmd == CMD_SET_BAUD:
        return "set baud rate"
    return COMMAND_NAMES.get((cmd, para), f"command {cmd:02X} {para:02X}")


class FrameError(InvalidData):
    """Bytes that are not a well-formed frame; `offset` is the frame byte where the check failed."""

    def __init__(self, message: str, offset: int | None = None, action: str = "") -> None:
        super().__init__("frame_invalid", message, action or "check the cable and the reader; if it repeats, the reader may not speak GA 467")
        self.offset = offset


def xor(data: bytes) -> int:
    value = 0
    for b in data:
        value ^= b
    return value


def _wrap(body: bytes) -> bytes:
    length = len(body) + 1
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([xor(head + body)])


def encode_command(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A host → SAM frame."""
    return _wrap(bytes([cmd, para]) + bytes(data))


def encode_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A SAM → host frame."""
    return _wrap(bytes([sw1, sw2, sw3]) + bytes(data))


@dataclass(frozen=True)
class Reply:
    """A SAM reply. `raw` is the whole frame (some photo decoders want it); never log it."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes
    raw: bytes

    def __repr__(self) -> str:  # keeps personal data out of logs and tracebacks
        return f"Reply(sw3=0x{self.sw3:02X}, data={len(self.data)} bytes)"


@dataclass(frozen=True)
class Command:
    cmd: int
    para: int
    data: bytes
    raw: bytes

    def __repr__(self) -> str:
        return f"Command({self.cmd:02X} {self.para:02X}, data={len(self.data)} bytes)"


def check_frame(frame: bytes, min_len: int) -> bytes:
    """Verify preamble, length and checksum of one complete frame; return the body (between length and checksum)."""
    frame = bytes(frame)
    if len(frame) < HEADER_SIZE:
        raise FrameError(f"frame is {len(frame)} bytes, shorter than the 7-byte header", len(frame))
    for i, (got, want) in enumerate(zip(frame, PREAMBLE)):
        if got != want:
            raise FrameError(f"frame byte {i}: expected preamble AA AA AA 96 69, found {frame[:5].hex(' ').upper()}", i)
    length = int.from_bytes(frame[5:7], "big")
    if length < min_len:
        raise FrameError(f"frame bytes 5-6: length {length} is below the minimum {min_len}", 5)
    if length > MAX_LEN:
        raise FrameError(f"frame bytes 5-6: length {length} exceeds the largest GA 467 frame ({MAX_LEN})", 5)
    if len(frame) != HEADER_SIZE + length:
        raise FrameError(
            f"frame bytes 5-6 give length {length}, so the frame should be {HEADER_SIZE + length} bytes; got {len(frame)}",
            len(frame) if len(frame) < HEADER_SIZE + length else HEADER_SIZE + length,
        )
    expected = xor(frame[5:-1])
    if frame[-1] != expected:
        raise FrameError(f"frame byte {len(frame) - 1}: checksum is {frame[-1]:02X}, expected {expected:02X}", len(frame) - 1)
    return frame[7:-1]


def parse_reply(frame: bytes) -> Reply:
    """One complete SAM → host frame, verified; raises FrameError naming the failed check and the byte."""
    body = check_frame(frame, MIN_REPLY_LEN)
    return Reply(body[0], body[1], body[2], bytes(body[3:]), bytes(frame))


def parse_command(frame: bytes) -> Command:
    """One complete host → SAM frame, verified."""
    body = check_frame(frame, MIN_COMMAND_LEN)
    return Command(body[0], body[1], bytes(body[2:]), bytes(frame))


def parse_hex(text: str) -> bytes:
    """Hex given by a person: spaces, newlines, colons and a 0x prefix allowed."""
    cleaned = "".join(text.replace(":", " ").replace(",", " ").split())
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        bad = next((i for i, c in enumerate(cleaned) if c not in "0123456789abcdefABCDEF"), None)
        where = f" (character {bad}: {cleaned[bad]!r})" if bad is not None else " (odd number of hex digits)"
        raise FrameError(f"not hexadecimal{where}", None, "give the frame as hex digits, spaces allowed") from None


class FrameDecoder:
    """Incremental receiver: feed bytes as they arrive, collect complete frames.

    Garbage before a preamble is skipped; a frame whose length is impossible is dropped by resyncing one byte
    past its preamble; a frame with a bad checksum is reported as a FrameError and dropped. The buffer never
    holds more than one maximal frame, so nothing grows without bound.
    """

    def __init__(self, min_len: int = MIN_REPLY_LEN) -> None:
        self._buf = bytearray()
        self._min_len = min_len
        self.discarded = 0  # bytes skipped while hunting for a preamble

    def reset(self) -> None:
        self._buf.clear()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def bytes_needed(self) -> int:
        """How many more bytes complete the frame being received (at least 1): lets a reader block for exactly that many."""
        buf = self._buf
        start = buf.find(PREAMBLE)
        if start < 0:
            return max(1, HEADER_SIZE - self._partial_preamble())
        have = len(buf) - start
        if have < HEADER_SIZE:
            return HEADER_SIZE - have
        length = int.from_bytes(buf[start + 5:start + 7], "big")
        if length < self._min_len or length > MAX_LEN:
            return 1
        return max(1, HEADER_SIZE + length - have)

    def _partial_preamble(self) -> int:
        for k in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
            if self._buf.endswith(PREAMBLE[:k]):
                return k
        return 0

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        """Add bytes; return the complete frames (bytes) and the errors (FrameError) found, in order."""
        self._buf += data
        out: list[bytes | FrameError] = []
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                keep = self._partial_preamble()
                self.discarded += len(buf) - keep
                del buf[: len(buf) - keep]
                return out
            if start:
                self.discarded += start
                del buf[:start]
            if len(buf) < HEADER_SIZE:
                return out
            length = int.from_bytes(buf[5:7], "big")
            if length < self._min_len or length > MAX_LEN:
                out.append(FrameError(f"frame bytes 5-6: impossible length {length}; resynchronising", 5))
                self.discarded += 1
                del buf[:1]
                continue
            total = HEADER_SIZE + length
            if len(buf) < total:
                return out
            frame = bytes(buf[:total])
            del buf[:total]
            expected = xor(frame[5:-1])
            if frame[-1] != expected:
                out.append(FrameError(f"frame byte {total - 1}: checksum is {frame[-1]:02X}, expected {expected:02X}", total - 1))
            else:
                out.append(frame)
