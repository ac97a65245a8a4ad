"""Document → ESC/POS bytes for one printer profile.

Chinese text goes inside `FS &` … `FS .` in the profile's double-byte charset (python-escpos 3.1 sends GB18030
without `FS &`, and prints `??` for a line of only full-width punctuation). Lines are wrapped by display
width. A line holding a character the printer's font lacks is printed as a picture of the text. Pictures
(logos, text pictures, image QR codes) go through python-escpos 3.1 (`GS v 0` raster).
"""
from __future__ import annotations

import contextlib
import io

from devices.printer import commands as C
from devices.printer.document import QR, Cut, Document, Feed, Field, Image, Rule, Text
from devices.printer.profile import PrinterProfile
from devices.printer.raster import text_image, to_mono
from devices.printer.textwidth import display_width, wrap

ESCPOS_PROFILE = "TM-T20II"  # any profile with a known paper width; only the raster encoder is used
_QR_EC_ESCPOS = {"L": 0, "M": 1, "Q": 2, "H": 3}  # escpos.constants QR_ECLEVEL_*


TEXT_LINE_GAP = 6  # ESC 2 default line spacing (30 dots) minus the 24-dot font: a text picture keeps the line pitch


def _raster(img, pad_bottom: int = 0) -> bytes:
    """`GS v 0` of a 1-bit picture, with `pad_bottom` white rows. Heights that are a multiple of 48 get 8 white rows
    more: some 58 mm models (POS-5890K) print garbage after such images (python-escpos #367, #424)."""
    extra = pad_bottom + (8 if (img.height + pad_bottom) % 48 == 0 else 0)
    if extra:
        from PIL import Image as PILImage

        padded = PILImage.new("1", (img.width, img.height + extra), 1)
        padded.paste(img, (0, 0))
        img = padded
    return _escpos(lambda d: d.image(img, impl="bitImageRaster"))


def _escpos(call) -> bytes:
    """Run one python-escpos call on a Dummy printer; its stray prints never reach our stdout. python-escpos is
    imported here, not at module level: it parses its printer-profile YAML on import (a third of a second on a
    cold machine), which every `kiosk` command would otherwise pay."""
    from escpos.printer import Dummy

    d = Dummy(profile=ESCPOS_PROFILE)
    with contextlib.redirect_stdout(io.StringIO()):
        call(d)
    return d.output


def encode_text_line(line: str, charset: str) -> bytes:
    """One line of text: ASCII as single bytes, every other character inside `FS &` … `FS .`."""
    out = bytearray()
    run = []
    for ch in line:
        if ch.isascii():
            if run:
                out += C.KANJI_ON + "".join(run).encode(charset) + C.KANJI_OFF
                run = []
            out.append(ord(ch))
        else:
            run.append(ch)
    if run:
        out += C.KANJI_ON + "".join(run).encode(charset) + C.KANJI_OFF
    return bytes(out)


class _Encoder:
    def __init__(self, profile: PrinterProfile, font_path: str | None) -> None:
        self.p = profile
        self.font_path = font_path
        self.out = bytearray()
        self.align = "left"
        self.size = (1, 1)
        self.bold = False

    def set(self, align: str | None = None, size: tuple[int, int] | None = None, bold: bool | None = None) -> None:
        if align is not None and align != self.align:
            self.out += C.align(align)
            self.align = align
        if size is not None and size != self.size:
            self.out += C.size(*size)
            self.size = size
        if bold is not None and bold != self.bold:
            self.out += C.bold(bold)
            self.bold = bold

    def line(self, text: str, align: str, width: int, height: int, is_bold: bool) -> None:
        if all(self.p.has_char(c) for c in text):
            self.set(align, (width, height), is_bold)
            self.out += encode_text_line(text, self.p.charset) + C.LF
        else:  # a character the font lacks (CJK Extension B in a name): print the line as a picture
            self.set(align, (1, 1), False)
            self.out += _raster(to_mono(text_image(text, width, height, is_bold, self.font_path), self.p.dots), TEXT_LINE_GAP)

    def block(self, b) -> None:
        cols = self.p.columns
        if isinstance(b, Text):
            for ln in wrap(b.text, max(2, cols // b.width)) if b.text else [""]:
                self.line(ln, b.align, b.width, b.height, b.bold)
        elif isinstance(b, Field):
            indent = display_width(b.label)
            for ln in wrap(b.label + b.value, cols, indent):
                self.line(ln, "left", 1, 1, b.bold)
        elif isinstance(b, Rule):
            self.line((b.char or "-")[0] * (cols // display_width((b.char or "-")[0])), "left", 1, 1, False)
        elif isinstance(b, QR):
            self.set(b.align, (1, 1), False)
            if self.p.qr == "native":
                self.out += C.qr_native(b.payload, b.module_size, b.ec) + C.LF
            else:
                self.out += _escpos(lambda d: d.qr(b.payload, ec=_QR_EC_ESCPOS[b.ec], size=b.module_size, native=False))
        elif isinstance(b, Image):
            self.set(b.align, (1, 1), False)
            self.out += _raster(to_mono(b.image, self.p.dots))
        elif isinstance(b, Feed):
            self.out += C.feed(b.lines)
        elif isinstance(b, Cut):
            self.set("left", (1, 1), False)
            self.out += C.cut(b.feed or self.p.cut_feed)
        else:
            raise TypeError(f"not a document block: {b!r}")

    def run(self, doc: Document) -> bytes:
        self.out += C.INIT + C.KANJI_OFF  # known state whatever the model's Kanji default
        for b in doc.blocks:
            self.block(b)
        return bytes(self.out)


def encode(doc: Document, profile: PrinterProfile | None = None, font_path: str | None = None) -> bytes:
    """ESC/POS bytes for `doc` on a printer described by `profile` (default: 80 mm, GB18030, native QR)."""
    return _Encoder(profile or PrinterProfile(), font_path).run(doc)
