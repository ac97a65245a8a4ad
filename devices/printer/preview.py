"""PNG preview of an ESC/POS stream, drawn the way the printer would: 12×24 / 24×24 dot cells, the CJK font
(Noto Sans CJK SC), QR codes redrawn from their `GS ( k` payload, pictures as sent, cuts as a dashed line.
"""
from __future__ import annotations


import qrcode
from PIL import Image, ImageDraw

from devices.files import atomic_write
from devices.printer.decoder import CutMark, Decoded, Feed, Line, Picture, QrCode, decode
from devices.printer.profile import FONT_HEIGHT, PAPER_DOTS
from devices.printer.raster import text_image

MARGIN = 16
LINE_GAP = 6  # ESC 2 default line spacing is 30 dots for a 24-dot font
_QR_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}


def _x(align: str, w: int, paper: int) -> int:
    if align == "center":
        return max(0, (paper - w) // 2)
    if align == "right":
        return max(0, paper - w)
    return 0


def _qr_image(q: QrCode) -> Image.Image:
    code = qrcode.QRCode(error_correction=_QR_EC.get(q.ec, qrcode.constants.ERROR_CORRECT_L), box_size=max(1, q.module_size), border=0)
    code.add_data(q.payload.encode("utf-8"))
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")


def render_image(decoded: Decoded, paper: int = 80, font_path: str | None = None) -> Image.Image:
    width = PAPER_DOTS[paper]
    pieces: list[tuple[int, Image.Image | None, int]] = []  # (x, picture or None for a cut, height)
    for e in decoded.elements:
        if isinstance(e, Line):
            h = FONT_HEIGHT * e.height
            parts = [text_image(r.text, r.width, r.height, r.bold, font_path) for r in e.runs if r.text]
            w = sum(p.width for p in parts)
            line = Image.new("L", (max(1, min(w, width * 2)), h), 255)
            x = 0
            for p in parts:
                line.paste(p, (x, h - p.height))
                x += p.width
            pieces.append((_x(e.align, line.width, width), line, h + LINE_GAP))
        elif isinstance(e, QrCode):
            img = _qr_image(e)
            pieces.append((_x(e.align, img.width, width), img, img.height + LINE_GAP))
        elif isinstance(e, Picture):
            img = e.image.convert("L")
            pieces.append((_x(e.align, img.width, width), img, img.height))
        elif isinstance(e, Feed):
            pieces.append((0, None, e.lines * (FONT_HEIGHT + LINE_GAP)))
        elif isinstance(e, CutMark):
            pieces.append((-1, None, 4 * (FONT_HEIGHT + LINE_GAP)))  # the feed to the cutter, then the cut line
    total = sum(h for _, _, h in pieces) + 2 * MARGIN
    canvas = Image.new("L", (width + 2 * MARGIN, max(total, 2 * MARGIN + 1)), 255)
    draw = ImageDraw.Draw(canvas)
    y = MARGIN
    for x, img, h in pieces:
        if img is not None:
            canvas.paste(img.crop((0, 0, min(img.width, width - x), img.height)), (MARGIN + x, y))
        elif x == -1:
            cy = y + h - 4
            for cx in range(0, canvas.width, 12):
                draw.line([(cx, cy), (cx + 6, cy)], fill=128, width=2)
        y += h
    return canvas


def render_png(decoded_or_bytes, out_path: str, paper: int = 80, font_path: str | None = None) -> None:
    """Write the preview PNG of a decoded stream (or raw ESC/POS bytes) to `out_path`, atomically."""
    if paper not in PAPER_DOTS:
        raise ValueError("paper must be 58 or 80")
    decoded = decoded_or_bytes if isinstance(decoded_or_bytes, Decoded) else decode(bytes(decoded_or_bytes))
    img = render_image(decoded, paper, font_path)
    atomic_write(out_path, lambda f: img.save(f, format="PNG"))
