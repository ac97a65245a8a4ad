"""The device-neutral receipt document: what to print, not how a printer is told to print it.

Templates (in `kiosk.receipt`) build a `Document`; `devices.printer.encoder` turns it into ESC/POS bytes for a
printer profile, and `devices.printer.decoder` + `preview` turn those bytes back into content and a picture.
All text that enters a document is cleaned here: control and format characters from user data never reach
the wire, whatever a template forgets.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Union

ALIGNS = ("left", "center", "right")
QR_EC_LEVELS = ("L", "M", "Q", "H")
QR_MAX_BYTES = 1000  # well below the 7089-byte Epson limit and the ~1 KB of cheap models (HPRT HM-E200 < 1021)


def clean_text(value, max_chars: int | None = None) -> str:
    """`value` as one line of printable text.

    NFC-normalised; line breaks and tabs become spaces; every other control (Cc), format (Cf), surrogate,
    private-use and unassigned character is dropped; runs of spaces are collapsed. With `max_chars`, text
    longer than that is cut and ends with "…".
    """
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    out = []
    for ch in text:
        if ch in "\r\n\t\v\f\u2028\u2029\x85":
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if cat[0] == "C":  # Cc, Cf, Cs, Co, Cn
            continue
        if cat == "Zs":
            ch = " " if ch != "\u3000" else ch  # keep the ideographic space: it is a full-width cell
        out.append(ch)
    text = " ".join("".join(out).split(" "))
    while "  " in text:
        text = text.replace("  ", " ")
    text = text.strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


@dataclass
class Text:
    """One paragraph, wrapped to the paper width. `width`/`height` are character multipliers (1–8)."""

    text: str
    align: str = "left"
    width: int = 1
    height: int = 1
    bold: bool = False

    def __post_init__(self) -> None:
        self.text = clean_text(self.text)
        if self.align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}")
        if not (1 <= self.width <= 8 and 1 <= self.height <= 8):
            raise ValueError("width and height are multipliers from 1 to 8")


@dataclass
class Field:
    """`label` followed by `value`; continuation lines are indented under the value (a hanging indent)."""

    label: str
    value: str
    bold: bool = False

    def __post_init__(self) -> None:
        trailing = " " if str(self.label).endswith(" ") else ""
        self.label = clean_text(self.label) + trailing  # "1. " keeps its space before the value
        self.value = clean_text(self.value)


@dataclass
class Rule:
    """A horizontal line across the paper."""

    char: str = "-"


@dataclass
class QR:
    payload: str
    module_size: int = 6
    ec: str = "M"
    align: str = "center"

    def __post_init__(self) -> None:
        self.payload = clean_text(self.payload)
        if not self.payload:
            raise ValueError("a QR code needs a payload")
        if len(self.payload.encode("utf-8")) > QR_MAX_BYTES:
            raise ValueError(f"QR payload longer than {QR_MAX_BYTES} bytes")
        if self.ec not in QR_EC_LEVELS:
            raise ValueError(f"QR error correction must be one of {QR_EC_LEVELS}")
        if not 1 <= self.module_size <= 16:
            raise ValueError("QR module size is 1 to 16 dots")


@dataclass
class Image:
    """A picture (logo); converted to 1 bit and scaled down to the paper width by the encoder."""

    image: object  # PIL.Image.Image
    align: str = "center"


@dataclass
class Feed:
    lines: int = 1


@dataclass
class Cut:
    """Feed to the cutter and cut (partial cut, `GS V 66 n`)."""

    feed: int = 0


Block = Union[Text, Field, Rule, QR, Image, Feed, Cut]


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> "Document":
        self.blocks.append(block)
        return self

    def text(self, text: str, **kw) -> "Document":
        return self.add(Text(text, **kw))

    def field(self, label: str, value: str, **kw) -> "Document":
        return self.add(Field(label, value, **kw))

    def rule(self, char: str = "-") -> "Document":
        return self.add(Rule(char))

    def qr(self, payload: str, **kw) -> "Document":
        return self.add(QR(payload, **kw))

    def image(self, image, align: str = "center") -> "Document":
        return self.add(Image(image, align))

    def feed(self, lines: int = 1) -> "Document":
        return self.add(Feed(lines))

    def cut(self, feed: int = 0) -> "Document":
        return self.add(Cut(feed))
