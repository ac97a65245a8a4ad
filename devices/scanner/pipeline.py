"""The page pipeline: frames in, one cleaned material out (JPEG, PNG or a multi-page PDF), under a byte cap.

detect → flatten (real paper size at the requested dpi) → clean (colour / grey / bilevel) → encode. A byte cap is
met by stepping the JPEG quality down, then the dpi (never below `MIN_DPI`); a cap that cannot be met is an
`InvalidData` error. The ID-card copy places both sides of a card on one A4 page at true size under a purpose
watermark.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np

from devices.errors import DeviceError, InvalidData
from devices.files import atomic_write
from devices.scanner import enhance
from devices.scanner.detect import detect_page
from devices.scanner.flatten import PAPER_MM, PageGeometry, flatten, measure, mm_to_px, page_geometry

DEFAULT_DPI = 200  # DA/T 31-2017: at least 200 dpi for archived scans
MIN_DPI = 150  # only as a reported fallback under a byte cap
MAX_DPI = 600
JPEG_QUALITIES = (70, 65, 60)  # first is the default (OCR legibility 0.98 on the test page); the rest are byte-cap steps
FALLBACK_DPIS = (175, 150)
MAX_PIXELS = 64_000_000  # decompression-bomb guard: larger than any document camera (13 MP) with room to spare
MIN_SIDE = 32  # a smaller image cannot hold a legible page
ID1_CORNER_RADIUS_MM = 3.18  # ISO/IEC 7810
DEFAULT_WATERMARK = "仅供办理政务服务事项使用"
CJK_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_FONT_INDEX = 2  # the Simplified Chinese face of the collection (face 0 is Japanese)
OUTPUT_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".pdf": "pdf"}


# ---------------------------------------------------------------------------------------------------------------
# input


def load_image(path: str) -> np.ndarray:
    """Read an image file as BGR uint8 with its EXIF orientation applied; `InvalidData` says why it cannot be used."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not os.path.isfile(path):
        raise InvalidData("no_file", f"{path}: no such file", "check the file name")
    try:
        with warnings.catch_warnings():
            # The size is checked below with a clear message; Pillow's own warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise InvalidData("too_large", f"{path}: {w}×{h} is {w * h / 1e6:.0f} megapixels, more than the "
                                  f"{MAX_PIXELS // 1_000_000} MP this pipeline accepts",
                                  "use the document camera's own frames, or shrink the image first")
            if min(w, h) < MIN_SIDE:
                raise InvalidData("too_small", f"{path}: {w}×{h} pixels is too small to hold a page",
                                  "capture the page again at the camera's full resolution")
            im = ImageOps.exif_transpose(im)
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                im = flat
            elif im.mode not in ("RGB", "L"):
                im = im.convert("RGB")
            arr = np.asarray(im)
    except DeviceError:
        raise
    except UnidentifiedImageError:
        raise InvalidData("not_image", f"{path}: not an image file (JPEG, PNG, TIFF, BMP or WebP expected)",
                          "choose a photo or scan of the page") from None
    except Image.DecompressionBombError as exc:
        raise InvalidData("too_large", f"{path}: {exc}", "shrink the image first") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidData("corrupt_image", f"{path}: the image cannot be decoded ({exc})",
                          "the file is damaged or truncated; capture or copy it again") from None
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)


# ---------------------------------------------------------------------------------------------------------------
# pages


@dataclass
class FlatPage:
    image: np.ndarray  # flattened, not yet cleaned, at `dpi`
    geometry: PageGeometry
    detected: bool
    confidence: float
    warnings: list[dict] = field(default_factory=list)

    def info(self) -> dict:
        return {
            "detected": self.detected,
            "confidence": round(self.confidence, 4),
            "paper": self.geometry.name,
            "size_mm": [round(self.geometry.width_mm, 1), round(self.geometry.height_mm, 1)],
            "warnings": self.warnings,
        }


def flatten_page(image: np.ndarray, dpi: int, kind: str = "auto", require_page: bool = False,
                 label: str = "image") -> FlatPage:
    """Detect and flatten one page; without a detected page the whole frame is taken as the page (reported)."""
    det = detect_page(image)
    if det.corners is None:
        if require_page:
            raise InvalidData("no_page", f"{label}: no card or page was found in the image",
                              "place it flat on the dark mat, fully inside the frame, and capture again")
        h, w = image.shape[:2]
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        geometry = page_geometry(corners, kind=kind)
        flat = flatten(image, corners, geometry, dpi)
        native = flat.shape[1] / max(measure(corners)[0], 1.0)
        warn = [{"code": "no_page", "message": "no page edges were found; the whole image was used",
                 "action": "place the page on the dark mat, fully inside the frame"}]
        return FlatPage(flat, geometry, False, det.confidence, warn + enhance.quality_warnings(flat, native))
    geometry = page_geometry(det.corners, kind=kind)
    flat = flatten(image, det.corners, geometry, dpi)
    native = flat.shape[1] / max(measure(det.corners)[0], 1.0)
    return FlatPage(flat, geometry, True, det.confidence, enhance.quality_warnings(flat, native))


def _cjk_font(size: int):
    from PIL import ImageFont

    if not os.path.exists(CJK_FONT_PATH):
        raise DeviceError("font_missing", f"the Chinese font {CJK_FONT_PATH} is not installed",
                          "install Debian's fonts-noto-cjk package (the bootstrap script does this)")
    return ImageFont.truetype(CJK_FONT_PATH, size, index=CJK_FONT_INDEX)


def draw_watermark(page: np.ndarray, text: str, dpi: int) -> np.ndarray:
    """Tile `text` diagonally across the page, light enough to read what is under it."""
    from PIL import Image, ImageDraw

    h, w = page.shape[:2]
    size = mm_to_px(7.0, dpi)
    font = _cjk_font(size)
    tw = int(font.getlength(text)) + size
    tile = Image.new("L", (tw, size * 2), 0)
    ImageDraw.Draw(tile).text((size // 2, size // 3), text, font=font, fill=255)
    tile = tile.rotate(30, expand=True, resample=Image.BICUBIC)
    alpha = Image.new("L", (w, h), 0)
    step_x, step_y = int(tile.width * 0.95), int(tile.height * 0.6) + size * 2
    for row, y in enumerate(range(-tile.height // 2, h, step_y)):
        for x in range(-tile.width // 2 + (row % 2) * step_x // 2, w, step_x):
            alpha.paste(tile, (x, y), tile)
    a = np.asarray(alpha).astype(np.float32) / 255.0
    if page.ndim == 2 and set(np.unique(page[::17, ::17]).tolist()) <= {0, 255}:
        # Bilevel: an outline lettering survives thresholding without hiding the card.
        edge = cv2.morphologyEx((a > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        out = page.copy()
        out[edge > 0] = 0
        return out
    ink = np.array([150, 150, 150], np.float32) if page.ndim == 3 else np.float32(150)
    strength = 0.45 * (a[..., None] if page.ndim == 3 else a)
    return (page.astype(np.float32) * (1 - strength) + ink * strength).clip(0, 255).astype(np.uint8)


def idcard_sheet(front: FlatPage, back: FlatPage, dpi: int) -> np.ndarray:
    """Both sides of an ID card on one A4 portrait page at true size (ISO/IEC 7810 ID-1), front above back."""
    a4w, a4h = mm_to_px(PAPER_MM["a4"][0], dpi), mm_to_px(PAPER_MM["a4"][1], dpi)
    sheet = np.full((a4h, a4w, 3), 255, np.uint8)
    for page, centre_y in ((front, 0.30), (back, 0.68)):
        card = page.image
        if card.shape[0] > card.shape[1]:
            card = cv2.rotate(card, cv2.ROTATE_90_CLOCKWISE)
        card = card if card.ndim == 3 else cv2.cvtColor(card, cv2.COLOR_GRAY2BGR)
        ch, cw = card.shape[:2]
        # Outside the rounded corners (ISO/IEC 7810: r = 3.18 mm) the camera saw the desk: paper white there.
        r = mm_to_px(ID1_CORNER_RADIUS_MM, dpi)
        mask = np.zeros((ch, cw), np.uint8)
        cv2.rectangle(mask, (r, 0), (cw - 1 - r, ch - 1), 255, -1)
        cv2.rectangle(mask, (0, r), (cw - 1, ch - 1 - r), 255, -1)
        for cx, cy in ((r, r), (cw - 1 - r, r), (r, ch - 1 - r), (cw - 1 - r, ch - 1 - r)):
            cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
        alpha = (mask.astype(np.float32) / 255.0)[..., None]
        x = (a4w - cw) // 2
        y = int(a4h * centre_y - ch / 2)
        sheet[y:y + ch, x:x + cw] = (card * alpha + 255 * (1 - alpha)).astype(np.uint8)
        outline = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        sheet[y:y + ch, x:x + cw][outline] = (190, 190, 190)
    return sheet


# ---------------------------------------------------------------------------------------------------------------
# encoding


def _resample(page: np.ndarray, src_dpi: int, dst_dpi: int) -> np.ndarray:
    if dst_dpi == src_dpi:
        return page
    h, w = page.shape[:2]
    return cv2.resize(page, (max(1, round(w * dst_dpi / src_dpi)), max(1, round(h * dst_dpi / src_dpi))),
                      interpolation=cv2.INTER_AREA)


def bgr_image(page: np.ndarray):
    """A PIL RGB image of an OpenCV (BGR) page: PIL swaps the channels while it copies the pixels in, so no
    reversed copy of the page is made first (that copy cost more than the JPEG encoding)."""
    from PIL import Image

    page = np.ascontiguousarray(page)
    h, w = page.shape[:2]
    return Image.frombuffer("RGB", (w, h), page, "raw", "BGR", 0, 1)  # a decoded copy (BGR cannot be mapped)


def encode_page(page: np.ndarray, fmt: str, mode: str, dpi: int, quality: int | None) -> bytes:
    """One cleaned page as JPEG, PNG or (bilevel) CCITT G4 TIFF bytes carrying its dpi."""
    from PIL import Image

    buf = io.BytesIO()
    if mode == "bw":
        im = Image.fromarray(page if page.ndim == 2 else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)).convert("1")
        if fmt == "pdf":
            im.save(buf, "TIFF", compression="group4", dpi=(dpi, dpi))
        else:
            im.save(buf, "PNG", optimize=True, dpi=(dpi, dpi))
        return buf.getvalue()
    im = Image.fromarray(page) if page.ndim == 2 else bgr_image(page)
    if fmt == "png":
        im.save(buf, "PNG", compress_level=6, dpi=(dpi, dpi))
    else:
        im.save(buf, "JPEG", quality=int(quality), dpi=(dpi, dpi), optimize=True, subsampling=2)
    return buf.getvalue()


def _assemble(pages: list[np.ndarray], fmt: str, mode: str, dpi: int, quality: int | None) -> bytes:
    blobs = [encode_page(p, fmt, mode, dpi, quality) for p in pages]
    if fmt != "pdf":
        return blobs[0]
    from devices.scanner.pdf import jpegs_to_pdf

    return jpegs_to_pdf(blobs, dpi)


def _write_atomically(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InvalidData("no_folder", f"{folder}: no such folder for the output", "create the folder or choose another")
    atomic_write(path, data)


def _validate(images, out_path, mode, dpi, max_bytes, idcard) -> str:
    ext = os.path.splitext(out_path)[1].lower()
    fmt = OUTPUT_FORMATS.get(ext)
    if fmt is None:
        raise InvalidData("bad_output", f"{out_path}: the output must end in .jpg, .png or .pdf", "choose another name")
    if mode not in enhance.MODES:
        raise InvalidData("bad_mode", f"unknown mode {mode!r}", "use color, gray or bw")
    if not images:
        raise InvalidData("no_input", "no input images", "give at least one image")
    if idcard and len(images) != 2:
        raise InvalidData("idcard_inputs", f"the ID-card copy needs exactly two images (front, then back), got {len(images)}",
                          "capture the front and the back of the card")
    if len(images) > 1 and not idcard and fmt != "pdf":
        raise InvalidData("needs_pdf", "several pages need a PDF output", "name the output OUT.pdf")
    if mode == "bw" and fmt == "jpeg":
        raise InvalidData("bw_needs_pdf_png", "bw pages are stored as PDF (CCITT G4) or PNG, not JPEG",
                          "name the output OUT.pdf or OUT.png, or use --mode gray")
    if not (DEFAULT_DPI <= dpi <= MAX_DPI):
        raise InvalidData("bad_dpi", f"dpi {dpi} is outside {DEFAULT_DPI}–{MAX_DPI}",
                          f"use at least {DEFAULT_DPI} dpi; lower values are only a reported fallback under --max-bytes")
    if max_bytes is not None and max_bytes <= 0:
        raise InvalidData("bad_cap", f"--max-bytes must be positive, got {max_bytes}", "give the platform's limit in bytes")
    for img in images:
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3) or min(img.shape[:2]) < MIN_SIDE:
            raise InvalidData("bad_image", "an input is not a usable image", "capture the page again")
    return fmt


def process_pages(images: list[np.ndarray], out_path: str, mode: str = "color", dpi: int = DEFAULT_DPI,
                  max_bytes: int | None = None, idcard: bool = False, watermark: str | None = None) -> dict:
    """Turn camera frames into one material file at `out_path`; returns the settings finally used.

    `watermark` None means the default purpose text in ID-card mode and none otherwise; "" switches it off.
    """
    fmt = _validate(images, out_path, mode, dpi, max_bytes, idcard)
    if idcard:
        flats = [flatten_page(img, dpi, kind="id1", require_page=True, label=side)
                 for img, side in zip(images, ("front", "back"))]
        text = DEFAULT_WATERMARK if watermark is None else watermark
        cleaned_cards = []
        for fp in flats:
            cleaned_cards.append(FlatPage(enhance.clean(fp.image, "color" if mode == "bw" else mode, dpi), fp.geometry,
                                          fp.detected, fp.confidence, fp.warnings))
        sheet = idcard_sheet(*cleaned_cards, dpi=dpi)
        if mode == "gray":
            sheet = cv2.cvtColor(sheet, cv2.COLOR_BGR2GRAY)
        elif mode == "bw":
            sheet = enhance.binarize(sheet, dpi)
        if text:
            sheet = draw_watermark(sheet, text, dpi)
        cleaned = [sheet]
        infos = [fp.info() for fp in flats]
    else:
        flats = [flatten_page(img, dpi) for img in images]
        cleaned = [enhance.clean(fp.image, mode, dpi) for fp in flats]
        if watermark:
            cleaned = [draw_watermark(p, watermark, dpi) for p in cleaned]
        infos = [fp.info() for fp in flats]

    jpeg = fmt == "jpeg" or (fmt == "pdf" and mode != "bw")
    qualities = JPEG_QUALITIES if jpeg else (None,)
    dpis = (dpi,) + tuple(d for d in FALLBACK_DPIS if d < dpi and d >= MIN_DPI)
    if max_bytes is None:
        dpis, qualities = dpis[:1], qualities[:1]
    data = b""
    used_q: int | None = None
    used_dpi = dpi
    for d in dpis:
        pages = [_resample(p, dpi, d) for p in cleaned]
        if mode == "bw" and d != dpi:
            pages = [np.where(p > 127, 255, 0).astype(np.uint8) for p in pages]
        for q in qualities:
            data = _assemble(pages, fmt, mode, d, q)
            used_q, used_dpi = q, d
            if max_bytes is None or len(data) <= max_bytes:
                break
        if max_bytes is None or len(data) <= max_bytes:
            break
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidData(
            "cap_unmeetable",
            f"the output needs at least {len(data)} bytes (at {used_dpi} dpi"
            + (f", JPEG quality {used_q}" if used_q else "") + f"), more than the cap of {max_bytes} bytes",
            "raise --max-bytes, split the material into several files, or use --mode bw for text-only pages")
    _write_atomically(out_path, data)
    return {
        "mode": mode,
        "dpi": used_dpi,
        "quality": used_q,
        "bytes": len(data),
        "pages": len(cleaned),
        "format": fmt,
        "output": out_path,
        "dpi_fallback": used_dpi < DEFAULT_DPI,
        "idcard": bool(idcard),
        "page_info": infos,
    }
