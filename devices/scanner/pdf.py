"""JPEG pages into one PDF, each page embedded as it is (DCT, not re-encoded), at a fixed DPI.

img2pdf writes the PDF with its own writer. At import it also loads pikepdf if installed (its dependency), about
15 MB of native code the kiosk would carry for good; its own writer does the same job for JPEG pages, so pikepdf
is kept out of that import and the writer named.
"""
from __future__ import annotations

import sys


def _img2pdf():
    if "img2pdf" in sys.modules:
        return sys.modules["img2pdf"]
    missing = object()
    saved = sys.modules.get("pikepdf", missing)
    sys.modules["pikepdf"] = None  # img2pdf's `import pikepdf` fails: it keeps its internal writer
    try:
        import img2pdf
    finally:
        if saved is missing:
            del sys.modules["pikepdf"]
        else:
            sys.modules["pikepdf"] = saved
    return img2pdf


def jpegs_to_pdf(blobs: list[bytes], dpi: int) -> bytes:
    img2pdf = _img2pdf()
    return img2pdf.convert(blobs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi)),
                           engine=img2pdf.Engine.internal)
