"""Text drawn as a picture in printer cells: 12×24 dots per half-width character, 24×24 per full-width one.

Used for lines the printer's font cannot print (rare name characters) and by the PNG preview, so both
look like the printer's own text.
"""
from __future__ import annotations

from PIL import Image, ImageDraw

from devices.printer.fonts import cjk_font
from devices.printer.profile import FONT_A_WIDTH, FONT_HEIGHT
from devices.printer.textwidth import char_width

ASCII_FONT_SIZE = 20
BASELINE = 20  # dots from the top of the 24-dot cell  # Noto's Latin glyphs are wider than a 12-dot cell at 24 px


def text_image(text: str, width: int = 1, height: int = 1, bold: bool = False, font_path: str | None = None) -> Image.Image:
    """Greyscale picture (white background, black text) of one line, `width`×`height` times the cell size."""
    cols = sum(char_width(c) for c in text)
    img = Image.new("L", (max(1, cols * FONT_A_WIDTH), FONT_HEIGHT), 255)
    draw = ImageDraw.Draw(img)
    wide = cjk_font(FONT_HEIGHT - 2, font_path)
    narrow = cjk_font(ASCII_FONT_SIZE, font_path)
    x = 0
    stroke = 1 if bold else 0
    for ch in text:
        w = char_width(ch) * FONT_A_WIDTH
        if w == 0:
            continue
        font = narrow if w == FONT_A_WIDTH else wide
        left, _, right, _ = font.getbbox(ch, anchor="ls")
        gx = x + (w - (right - left)) / 2 - left
        draw.text((gx, BASELINE), ch, font=font, fill=0, anchor="ls", stroke_width=stroke, stroke_fill=0)
        x += w
    if width != 1 or height != 1:
        img = img.resize((img.width * width, img.height * height), Image.NEAREST)
    return img


def to_mono(img: Image.Image, max_width: int) -> Image.Image:
    """A 1-bit copy of `img` no wider than `max_width` dots (thresholded, not dithered: text stays crisp)."""
    img = img.convert("L")
    if img.width > max_width:
        img = img.resize((max_width, max(1, round(img.height * max_width / img.width))), Image.LANCZOS)
    return img.point(lambda v: 255 if v >= 128 else 0).convert("1")
