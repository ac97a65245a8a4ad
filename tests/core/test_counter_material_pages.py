"""A 代办 request's scanned material read back into page images for the counter's viewer
(kiosk.counter.material_pages): the kiosk's own PDFs page by page, anything else refused in words."""
import io

import pytest
from PIL import Image

from devices.scanner.pdf import jpegs_to_pdf
from kiosk.counter.material_pages import page_images
from kiosk.errors import InvalidInput


def _jpeg(colour, size=(620, 877)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_the_kiosks_pdf_gives_back_its_pages_in_order():
    pdf = jpegs_to_pdf([_jpeg((200, 30, 30)), _jpeg((30, 30, 200), (877, 620)), _jpeg((30, 160, 30))], 150)
    pages = [Image.open(io.BytesIO(p)).convert("RGB") for p in page_images(pdf)]
    assert [p.size for p in pages] == [(620, 877), (877, 620), (620, 877)]
    centres = [p.getpixel((p.width // 2, p.height // 2)) for p in pages]
    assert [max(range(3), key=c.__getitem__) for c in centres] == [0, 2, 1]  # red, blue, green: in page order


def test_a_pdf_without_a_scanned_image_or_not_a_pdf_is_refused_in_words():
    from fpdf import FPDF

    text_only = FPDF()
    text_only.add_page()
    text_only.set_font("helvetica", size=12)
    text_only.cell(text="typed, not scanned")
    for bad in (bytes(text_only.output()), b"%PDF-1.4 M01 hukou", b"", b"\x00" * 64):
        with pytest.raises(InvalidInput) as caught:
            page_images(bad)
        assert caught.value.action  # what the clerk can do instead
