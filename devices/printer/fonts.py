"""The CJK font used to draw text the printer cannot print itself, and the PNG preview.

Debian's `fonts-noto-cjk` ships a TrueType collection whose face 0 is Japanese; face 2 is Simplified Chinese
(the glyph shapes differ for many characters, e.g. 直, 骨, 说). Pass `index=2` or the receipt looks Japanese.
"""
from __future__ import annotations

import functools
import os

from devices.errors import DeviceError

NOTO_CJK_REGULAR = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_CJK_SC_INDEX = 2  # face order in NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK
FONT_ENV = "KIOSK_CJK_FONT"


class FontMissing(DeviceError):
    exit_code = 1


def font_location(font_path: str | None = None) -> tuple[str, int]:
    """(path, face index) of the CJK font: `font_path`, else `$KIOSK_CJK_FONT`, else Noto Sans CJK SC."""
    path = font_path or os.environ.get(FONT_ENV) or NOTO_CJK_REGULAR
    if not os.path.isfile(path):
        raise FontMissing(
            "font_missing",
            f"the CJK font {path} is not installed",
            "install the Debian package fonts-noto-cjk (apt-get install fonts-noto-cjk), or pass a font file",
        )
    base = os.path.basename(path)
    index = NOTO_CJK_SC_INDEX if base.lower().endswith(".ttc") and base.startswith("Noto") and "CJK" in base else 0
    return path, index


@functools.lru_cache(maxsize=32)
def _load(path: str, index: int, size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, size, index=index)
    except OSError as exc:
        raise FontMissing("font_unreadable", f"cannot read the font {path}: {exc}",
                          "reinstall fonts-noto-cjk, or pass another font file") from None


def cjk_font(size: int, font_path: str | None = None):
    path, index = font_location(font_path)
    return _load(path, index, size)


def release() -> None:
    """Close the faces `cjk_font` keeps. Each maps the whole font collection (19 MB resident once drawn from), so
    the kiosk lets them go when a citizen's session ends instead of holding them all day; the next receipt loads
    them again (a few milliseconds each)."""
    _load.cache_clear()
