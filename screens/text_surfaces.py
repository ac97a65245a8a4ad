"""Kivy's SDL2 text provider keeps every label's last drawing surface after its texture is made.

`LabelSDL2._render_begin` makes an SDL surface of the label's size, `_render_end` copies its pixels out for the
texture, and the surface stays on the core label until its next drawing: a second copy of every label's and text
input line's pixels, in memory for as long as the widget lives (about 13 MB on the kiosk after one journey,
measured with heaptrack; the pygame provider deletes its surface at the same point). `release_text_surfaces`
makes `_render_end` drop it once its pixels are copied.
"""
from __future__ import annotations


def release_text_surfaces() -> bool:
    """Drop each label's SDL surface after drawing; True when Kivy draws text with SDL2 (the patch applies)."""
    try:
        from kivy.core.text.text_sdl2 import LabelSDL2
    except ImportError:  # another text provider (PIL, pango): nothing kept
        return False
    if LabelSDL2.__dict__.get("_render_end") is _render_end:
        return True
    LabelSDL2._render_end = _render_end
    return True


def _render_end(self):
    data = self._surface.get_data()  # ImageData holding a copy of the pixels
    self._surface = None  # frees the SDL surface (its container's destructor)
    return data
