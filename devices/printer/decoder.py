"""Our own ESC/POS decoder for the subset we emit: bytes → text runs, QR payloads, pictures, cuts.

Existing renderers read double-byte text as CP437; this one follows `FS &` / `FS .` and decodes GB18030 in Kanji
mode. It is used by the golden tests, the PNG preview, clerks' reprint preview and the simulated printer (which
needs the command boundaries to find real-time commands and `GS r` in a stream). `tokenize` works on a partial
stream: it stops before a command that is not complete yet.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from devices.errors import InvalidData

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

# Commands with a fixed number of parameter bytes, by prefix byte and command byte.
_FIXED = {
    ESC: {"@": 0, "a": 1, "E": 1, "!": 1, "t": 1, "d": 1, "2": 0, "3": 1, "-": 1, "J": 1, "M": 1, "G": 1, "R": 1, "{": 1, "V": 1},
    GS: {"!": 1, "r": 1, "a": 1, "B": 1, "L": 2, "W": 2, "H": 1, "h": 1, "w": 1, "f": 1, "I": 1},
    FS: {"&": 0, ".": 0, "!": 1, "-": 1, "S": 2, "W": 1},
    DLE: {"\x04": 1, "\x05": 1},
}
_PREFIX_NAME = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}
_DLE_NAMES = {"\x04": "EOT", "\x05": "ENQ"}


@dataclass
class Token:
    name: str  # "text", "LF", "CR", "ESC a", "GS ( k", "GS v 0", "DLE EOT", "unknown", ...
    raw: bytes
    offset: int
    args: bytes = b""  # fixed parameters
    data: bytes = b""  # variable payload (GS ( k / GS ( L body after pH, GS v 0 raster)
    kanji: bool = False  # text read in Kanji mode


class Incomplete(Exception):
    """The stream ends inside a command."""


def _need(buf: bytes, end: int) -> None:
    if end > len(buf):
        raise Incomplete


def next_token(buf: bytes, pos: int, kanji: bool, strict: bool = True) -> Token:
    """The token that starts at `pos`. Raises `Incomplete` if it is cut off, `InvalidData` for an unknown command (strict)."""
    b = buf[pos]
    if b == 0x0A:
        return Token("LF", buf[pos:pos + 1], pos)
    if b == 0x0D:
        return Token("CR", buf[pos:pos + 1], pos)
    if b in _FIXED:
        _need(buf, pos + 2)
        c = chr(buf[pos + 1])
        prefix = _PREFIX_NAME[b]
        if b == GS and c == "(":  # GS ( X pL pH data
            _need(buf, pos + 5)
            n = buf[pos + 3] | (buf[pos + 4] << 8)
            _need(buf, pos + 5 + n)
            return Token(f"GS ( {chr(buf[pos + 2])}", buf[pos:pos + 5 + n], pos, data=buf[pos + 5:pos + 5 + n])
        if b == GS and c == "v":  # GS v 0 m xL xH yL yH d1..dk, k = x·y (x in bytes)
            _need(buf, pos + 8)
            x = buf[pos + 4] | (buf[pos + 5] << 8)
            y = buf[pos + 6] | (buf[pos + 7] << 8)
            _need(buf, pos + 8 + x * y)
            return Token("GS v 0", buf[pos:pos + 8 + x * y], pos, args=buf[pos + 3:pos + 8], data=buf[pos + 8:pos + 8 + x * y])
        if b == GS and c == "V":  # GS V m, or GS V m n for m in 65, 66, 97, 98, 103, 104
            _need(buf, pos + 3)
            m = buf[pos + 2]
            k = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            _need(buf, pos + k)
            return Token("GS V", buf[pos:pos + k], pos, args=buf[pos + 2:pos + k])
        if c in _FIXED[b]:
            k = 2 + _FIXED[b][c]
            _need(buf, pos + k)
            name = f"DLE {_DLE_NAMES[c]}" if b == DLE else f"{prefix} {c}"
            return Token(name, buf[pos:pos + k], pos, args=buf[pos + 2:pos + k])
        if strict:
            raise InvalidData("escpos_unknown", f"unknown command {prefix} 0x{buf[pos + 1]:02x} at byte {pos}",
                              "the stream was not made by our encoder, or the decoder needs this command")
        return Token("unknown", buf[pos:pos + 1], pos)
    if b < 0x20 or b == 0x7F:
        if strict:
            raise InvalidData("escpos_control", f"stray control byte 0x{b:02x} at byte {pos}",
                              "control bytes must not appear in text; check the encoder")
        return Token("unknown", buf[pos:pos + 1], pos)
    # text: printable bytes up to the next control byte; in Kanji mode whole double-byte/four-byte characters
    end = pos
    n = len(buf)
    while end < n:
        v = buf[end]
        if v < 0x20 or v == 0x7F:
            break
        if kanji and 0x81 <= v <= 0xFE:
            if end + 1 >= n:
                if end == pos:
                    raise Incomplete
                break
            k = 4 if 0x30 <= buf[end + 1] <= 0x39 else 2  # GB18030: four-byte sequences have a digit second byte
            if end + k > n:
                if end == pos:
                    raise Incomplete
                break
            end += k
        else:
            end += 1
    return Token("text", buf[pos:end], pos, kanji=kanji)


def tokenize(buf: bytes, strict: bool = True, kanji: bool = False, kanji_default: bool = False) -> tuple[list[Token], int, bool]:
    """Tokens of `buf`, the number of bytes they cover (the rest is an incomplete command) and the Kanji mode after them.

    `kanji` is the mode at the start of `buf`; `kanji_default` the mode `ESC @` returns to (on for Chinese-market models).
    """
    tokens = []
    pos = 0
    while pos < len(buf):
        try:
            t = next_token(buf, pos, kanji, strict)
        except Incomplete:
            break
        if t.name == "FS &":
            kanji = True
        elif t.name == "FS .":
            kanji = False
        elif t.name == "ESC @":
            kanji = kanji_default
        tokens.append(t)
        pos += len(t.raw)
    return tokens, pos, kanji


@dataclass
class TextRun:
    text: str
    encoding: str  # "ascii", "cp437" (single-byte table 0) or the double-byte charset ("gb18030")
    width: int = 1
    height: int = 1
    bold: bool = False
    align: str = "left"
    kanji: bool = False


@dataclass
class Line:
    runs: list[TextRun]
    align: str = "left"

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def height(self) -> int:
        return max((r.height for r in self.runs), default=1)


@dataclass
class QrCode:
    payload: str
    module_size: int = 3
    ec: str = "L"
    align: str = "left"


@dataclass
class Picture:
    image: Image.Image  # mode "1", black = printed dot
    align: str = "left"


@dataclass
class Feed:
    lines: int


@dataclass
class CutMark:
    mode: int
    feed: int = 0


@dataclass
class Decoded:
    elements: list = field(default_factory=list)  # Line | QrCode | Picture | Feed | CutMark, in print order
    commands: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [e for e in self.elements if isinstance(e, Line)]

    @property
    def runs(self) -> list[TextRun]:
        return [r for ln in self.lines for r in ln.runs]

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    @property
    def qr_payloads(self) -> list[str]:
        return [e.payload for e in self.elements if isinstance(e, QrCode)]

    @property
    def cuts(self) -> int:
        return sum(1 for e in self.elements if isinstance(e, CutMark))

    @property
    def images(self) -> list[Image.Image]:
        return [e.image for e in self.elements if isinstance(e, Picture)]


_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


def decode(escpos: bytes, charset: str = "gb18030", kanji_default: bool = False) -> Decoded:
    """Structured content of an ESC/POS stream. Raises `InvalidData` for a command outside the subset we emit.

    `kanji_default=True` reads the stream as a Chinese-market printer that starts in Kanji mode would (how
    python-escpos 3.1's raw GB18030 comes out right on such printers).
    """
    tokens, used, _ = tokenize(bytes(escpos), strict=True, kanji=kanji_default, kanji_default=kanji_default)
    if used != len(escpos):
        raise InvalidData("escpos_truncated", f"the stream ends inside a command at byte {used}",
                          "the file is cut off; render the receipt again")
    out = Decoded()
    align, width, height, bold = "left", 1, 1, False
    codepage = "cp437"
    runs: list[TextRun] = []
    qr_store = {"payload": None, "size": 3, "ec": "L"}

    def flush(force: bool) -> None:
        nonlocal runs
        if runs or force:
            out.elements.append(Line(runs, align))
        runs = []

    for t in tokens:
        out.commands.append(t.name)
        n = t.name
        if n == "text":
            if t.kanji:
                text, enc = t.raw.decode(charset, errors="replace"), charset
            else:
                text = t.raw.decode(codepage, errors="replace")
                enc = "ascii" if t.raw.isascii() else codepage
            run = TextRun(text, enc, width, height, bold, align, t.kanji)
            last = runs[-1] if runs else None
            if last and (last.encoding, last.width, last.height, last.bold, last.kanji) == (enc, width, height, bold, t.kanji):
                last.text += text
            else:
                runs.append(run)
        elif n == "LF":
            flush(True)
        elif n == "ESC @":
            flush(False)
            align, width, height, bold, codepage = "left", 1, 1, False, "cp437"
        elif n == "ESC a":
            align = _ALIGN.get(t.args[0], "left")
        elif n == "ESC E":
            bold = bool(t.args[0] & 1)
        elif n == "ESC !":
            m = t.args[0]
            bold = bool(m & 0x08)
            width, height = (2 if m & 0x20 else 1), (2 if m & 0x10 else 1)
        elif n == "GS !":
            width, height = (t.args[0] >> 4) + 1, (t.args[0] & 0x0F) + 1
        elif n == "ESC t":
            codepage = "cp437"  # the only single-byte table we select (python-escpos picks table 0 for ASCII)
        elif n == "ESC d":
            flush(False)
            out.elements.append(Feed(t.args[0]))
        elif n == "GS V":
            flush(False)
            out.elements.append(CutMark(t.args[0], t.args[1] if len(t.args) > 1 else 0))
        elif n == "GS ( k":
            d = t.data
            if len(d) >= 2 and d[0] == 49:
                fn = d[1]
                if fn == 67 and len(d) >= 3:
                    qr_store["size"] = d[2]
                elif fn == 69 and len(d) >= 3:
                    qr_store["ec"] = _EC.get(d[2], "L")
                elif fn == 80:
                    try:
                        qr_store["payload"] = d[3:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise InvalidData("escpos_qr", "QR data is not UTF-8", "render the receipt again") from None
                elif fn == 81:
                    flush(False)
                    if qr_store["payload"] is None:
                        raise InvalidData("escpos_qr", "QR print without stored data", "render the receipt again")
                    out.elements.append(QrCode(qr_store["payload"], qr_store["size"], qr_store["ec"], align))
        elif n == "GS v 0":
            flush(False)
            x = t.args[1] | (t.args[2] << 8)
            y = t.args[3] | (t.args[4] << 8)
            # raster bits: 1 = print; PIL mode "1" packs 1 = white, so invert
            img = Image.frombytes("1", (x * 8, y), bytes(v ^ 0xFF for v in t.data)) if x and y else Image.new("1", (1, 1), 1)
            out.elements.append(Picture(img, align))
        # FS & / FS . switch modes in tokenize; status and other commands do not print
    flush(False)
    return out
