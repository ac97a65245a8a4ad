"""Printer profiles: what one printer model can do (paper width, which characters its font has, native QR).

A profile comes from the kiosk config (`[devices.printer]`: paper, charset, qr); the defaults describe the
common Chinese-market 80 mm printer that starts in Kanji mode and knows `GS ( k`.
"""
from __future__ import annotations

from dataclasses import dataclass

# Font A is 12×24 dots, Kanji 24×24, at 203 dpi (8 dots/mm): 58 mm paper prints 48 mm = 384 dots, 80 mm prints 72 mm = 576 dots.
PAPER_DOTS = {58: 384, 80: 576}
PAPER_COLUMNS = {58: 32, 80: 48}
CHARSETS = ("gbk", "gb18030")
QR_MODES = ("native", "image")
FONT_A_WIDTH = 12
FONT_HEIGHT = 24


@dataclass(frozen=True)
class PrinterProfile:
    paper: int = 80
    charset: str = "gb18030"  # the double-byte characters the printer's font has
    qr: str = "native"  # native: GS ( k; image: a raster picture of the symbol
    kanji_default: bool = True  # the printer starts in Kanji mode (Chinese-market models, python-escpos #678)
    cut_feed: int = 0  # n of GS V 66 n (extra feed after the cut position)

    def __post_init__(self) -> None:
        if self.paper not in PAPER_DOTS:
            raise ValueError(f"paper must be 58 or 80 (mm), not {self.paper!r}")
        if self.charset not in CHARSETS:
            raise ValueError(f"charset must be one of {CHARSETS}, not {self.charset!r}")
        if self.qr not in QR_MODES:
            raise ValueError(f"qr must be one of {QR_MODES}, not {self.qr!r}")

    @property
    def columns(self) -> int:
        return PAPER_COLUMNS[self.paper]

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper]

    def has_char(self, ch: str) -> bool:
        """True if the printer's font prints `ch`: ASCII, or a character its double-byte charset encodes.

        `gb18030` means the GB18030-2022 level 2 fonts of Chinese models (TM-T70II-CH): the Basic Multilingual
        Plane. Supplementary-plane characters (CJK Extension B such as 𠮷, emoji) are printed as pictures.
        """
        o = ord(ch)
        if o < 0x80:
            return 0x20 <= o < 0x7F
        if self.charset == "gb18030" and o > 0xFFFF:
            return False
        try:
            ch.encode(self.charset)
        except UnicodeEncodeError:
            return False
        return True
