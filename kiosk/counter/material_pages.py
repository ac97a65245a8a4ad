"""The pages of a citizen's scanned material, for the counter's viewer.

A material is the PDF the kiosk's page pipeline wrote (devices/scanner/pdf.py: one JPEG image per page); pypdf
reads it and hands each page's image back as image bytes the screen can show. pypdf is imported here only, when
a clerk first opens a material.
"""
from __future__ import annotations

import io
import logging

from kiosk.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_PAGES = 200  # a material is a few pages; a PDF claiming more is not one the kiosk made


def page_images(pdf: bytes) -> list[bytes]:
    """Each page's first image, in page order (JPEG or PNG bytes). A PDF that cannot be read, or with no image
    on a page, raises InvalidInput with what the clerk can do instead."""
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        if len(reader.pages) > MAX_PAGES:
            raise InvalidInput(f"the material has {len(reader.pages)} pages, more than {MAX_PAGES}",
                               "print it from the hub's console instead")
        pages = []
        for number, page in enumerate(reader.pages, 1):
            images = list(page.images)
            if not images:
                raise InvalidInput(f"page {number} of the material holds no scanned image",
                                   "ask the citizen for the paper original")
            pages.append(images[0].data)
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        log.warning("a material could not be read as a PDF: %s", type(exc).__name__)
        raise InvalidInput("the material is not a readable PDF", "ask the citizen for the paper original") from None
    if not pages:
        raise InvalidInput("the material has no pages", "ask the citizen for the paper original")
    return pages
