"""Receipts the kiosk prints (business content): templates, masking, and the one call the app makes.

    render_receipt("acceptance", data, paper=80) -> ESC/POS bytes
    preview_png(escpos, "out.png", paper=80)

Data keys per kind are in docs/printer.md; a missing required key raises `InvalidInput` naming it.
"""
from __future__ import annotations

import os

from devices.printer.document import Document
from devices.printer.document import Image as ImageBlock
from devices.printer.encoder import encode
from devices.printer.preview import render_png
from devices.printer.profile import PrinterProfile
from kiosk.errors import InvalidInput
from kiosk.receipt import templates
from kiosk.receipt.fields import ReceiptData

KINDS = ("acceptance", "proxy", "pickup", "test")


def _profile(paper: int, charset: str, qr: str) -> PrinterProfile:
    try:
        return PrinterProfile(paper=int(paper), charset=charset, qr=qr)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"printer settings: {exc}", "use paper 58 or 80, charset gbk or gb18030, qr native or image") from None


def _logo(logo):
    if logo is None:
        return None
    if isinstance(logo, (str, os.PathLike)):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(logo) as img:
                img.load()
                return img.copy()
        except (OSError, UnidentifiedImageError) as exc:
            raise InvalidInput(f"logo {logo}: not a readable image ({exc})", "use a small PNG (black on white)") from None
    return logo


def build_document(kind: str, data: dict | None, paper: int = 80, charset: str = "gb18030", qr: str = "native",
                   hotline: str = "12345", *, logo=None) -> Document:
    """The device-neutral document of a receipt (masked, checked). `logo`: optional PIL image or image path."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown receipt kind {kind!r}", f"use one of {', '.join(KINDS)}")
    if kind == "test":
        doc = templates.test_page(f"{paper} mm, {charset}, QR {qr}", hotline)
    else:
        d = ReceiptData(kind, {} if data is None else data)
        doc = {"acceptance": templates.acceptance, "proxy": templates.proxy, "pickup": templates.pickup}[kind](d, hotline)
    image = _logo(logo)
    if image is not None:
        doc.blocks.insert(0, ImageBlock(image, "center"))
    return doc


def render_receipt(kind: str, data: dict, paper: int = 80, charset: str = "gb18030", qr: str = "native",
                   hotline: str = "12345", *, logo=None) -> bytes:
    """ESC/POS bytes of a receipt. Raises `InvalidInput` naming a missing or bad key; masks every name, ID and phone."""
    profile = _profile(paper, charset, qr)
    return encode(build_document(kind, data, paper, charset, qr, hotline, logo=logo), profile)


def preview_png(escpos: bytes, out_path: str, paper: int = 80) -> None:
    """A PNG of what the printer would print for `escpos` (clerk reprint preview, demo, tests)."""
    render_png(escpos, out_path, paper=paper)
