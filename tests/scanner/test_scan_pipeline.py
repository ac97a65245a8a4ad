"""The page pipeline: outputs, PDF page count and size, byte cap, ID-card copy, bad input."""
from __future__ import annotations

import io
import os

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image

from devices.errors import DeviceError, InvalidData
from devices.scanner import enhance, pipeline
from devices.scanner.flatten import mm_to_px, page_geometry
from devices.scanner.pipeline import load_image, process_pages
from devices.scanner.synthetic import A4_MM, ID1_MM, SceneSpec, compose_scene, demo_scene, render_form_page, render_id_card

FRAME = (1600, 1200)


@pytest.fixture(scope="module")
def a4_frame():
    rng = np.random.default_rng(11)
    page = render_form_page(rng, width=900)
    h = FRAME[1] * 0.8
    w = h * A4_MM[0] / A4_MM[1]
    cx, cy = FRAME[0] / 2, FRAME[1] / 2
    corners = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2 + 10], [cx + w / 2 - 8, cy + h / 2],
                        [cx - w / 2, cy + h / 2 - 6]])
    return compose_scene(page, SceneSpec(FRAME, corners, "dark_mat", blur_sigma=0.7, seed=2))


@pytest.fixture(scope="module")
def card_frames():
    rng = np.random.default_rng(12)
    frames = []
    for back in (False, True):
        card, mask = render_id_card(rng, width=700, back=back)
        w = FRAME[0] * 0.6
        h = w * ID1_MM[1] / ID1_MM[0]
        cx, cy = FRAME[0] / 2, FRAME[1] / 2
        corners = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2 - 12], [cx + w / 2, cy + h / 2 - 12],
                            [cx - w / 2, cy + h / 2]])
        frames.append(compose_scene(card, SceneSpec(FRAME, corners, "dark_mat", blur_sigma=0.7, seed=3 + back),
                                    page_mask=mask))
    return frames


def _first_image(pdf):
    return next(iter(pdf.pages[0].get_images().values()))


def _filters(img):
    f = img.Filter
    return [str(x) for x in f] if isinstance(f, pikepdf.Array) else [str(f)]


def _pdf_pages_mm(path):
    with pikepdf.open(path) as pdf:
        out = []
        for page in pdf.pages:
            box = [float(v) for v in page.mediabox]
            out.append(((box[2] - box[0]) / 72 * 25.4, (box[3] - box[1]) / 72 * 25.4))
        return out


def test_color_jpeg_is_an_a4_page_at_200_dpi(tmp_path, a4_frame):
    out = tmp_path / "page.jpg"
    r = process_pages([a4_frame], str(out))
    assert (r["mode"], r["dpi"], r["pages"], r["format"]) == ("color", 200, 1, "jpeg")
    assert r["bytes"] == out.stat().st_size
    assert r["page_info"][0]["paper"] == "a4" and r["page_info"][0]["detected"]
    with Image.open(out) as im:
        assert im.size == (mm_to_px(210, 200), mm_to_px(297, 200))
        assert round(im.info["dpi"][0]) == 200


def test_multi_page_pdf_has_one_a4_page_per_image(tmp_path, a4_frame):
    out = tmp_path / "material.pdf"
    r = process_pages([a4_frame, a4_frame, a4_frame], str(out), mode="gray")
    assert r["pages"] == 3
    pages = _pdf_pages_mm(out)
    assert len(pages) == 3
    for w, h in pages:
        assert w == pytest.approx(210, abs=0.5) and h == pytest.approx(297, abs=0.5)
    with pikepdf.open(out) as pdf:  # JPEG embedded as is (DCT), no re-encoding to another filter
        img = _first_image(pdf)
        assert _filters(img) == ["/DCTDecode"]


def test_bw_pdf_is_ccitt_g4(tmp_path, a4_frame):
    out = tmp_path / "bw.pdf"
    r = process_pages([a4_frame], str(out), mode="bw")
    assert r["quality"] is None
    with pikepdf.open(out) as pdf:
        img = _first_image(pdf)
        assert _filters(img) == ["/CCITTFaxDecode"]
    assert _pdf_pages_mm(out)[0][0] == pytest.approx(210, abs=0.5)


def test_color_mode_keeps_the_red_seal_and_whitens_the_paper(a4_frame):
    det_page = pipeline.flatten_page(a4_frame, 200)
    cleaned = enhance.clean(det_page.image, "color")
    b, g, r = [cleaned[..., i].astype(int) for i in range(3)]
    red = (r > 150) & (g < 110) & (b < 110)
    assert red.mean() > 0.002  # the seal and the red title survive
    assert np.median(cleaned.min(axis=2)) == 255  # the paper is white (去底色)


def test_byte_cap_steps_quality_then_dpi(tmp_path, a4_frame):
    free = process_pages([a4_frame], str(tmp_path / "free.jpg"))
    cap = int(free["bytes"] * 0.75)
    r = process_pages([a4_frame], str(tmp_path / "capped.jpg"), max_bytes=cap)
    assert r["bytes"] <= cap and os.path.getsize(tmp_path / "capped.jpg") <= cap
    assert r["quality"] < free["quality"] or r["dpi"] < 200
    tiny = process_pages([a4_frame], str(tmp_path / "tiny.jpg"), max_bytes=int(free["bytes"] * 0.6))
    assert tiny["dpi"] < 200 and tiny["dpi"] >= pipeline.MIN_DPI and tiny["dpi_fallback"] is True


def test_unmeetable_byte_cap_fails_without_leaving_a_file(tmp_path, a4_frame):
    out = tmp_path / "never.pdf"
    with pytest.raises(InvalidData) as exc:
        process_pages([a4_frame], str(out), max_bytes=2000)
    assert exc.value.exit_code == 5 and "2000" in exc.value.message
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".scan-")] == []


def test_idcard_copy_is_one_a4_page_with_both_sides_at_true_size(tmp_path, card_frames):
    out = tmp_path / "idcopy.pdf"
    r = process_pages(card_frames, str(out), idcard=True)
    assert r["pages"] == 1 and r["idcard"] is True
    assert [p["paper"] for p in r["page_info"]] == ["id1", "id1"]
    (w, h), = _pdf_pages_mm(out)
    assert w == pytest.approx(210, abs=0.5) and h == pytest.approx(297, abs=0.5)
    # The cards on the sheet measure 85.6 × 53.98 mm (ISO/IEC 7810 ID-1).
    sheet = pipeline.idcard_sheet(*[pipeline.flatten_page(f, 200, kind="id1", require_page=True) for f in card_frames], dpi=200)
    nonwhite = (sheet.min(axis=2) < 250).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(nonwhite)
    boxes = sorted((s for s in stats[1:] if s[cv2.CC_STAT_AREA] > 10000), key=lambda s: s[1])
    assert len(boxes) == 2
    for s in boxes:
        assert s[cv2.CC_STAT_WIDTH] / 200 * 25.4 == pytest.approx(85.6, abs=1.0)
        assert s[cv2.CC_STAT_HEIGHT] / 200 * 25.4 == pytest.approx(53.98, abs=1.0)


def test_idcard_watermark_is_drawn_by_default_and_can_be_switched_off(tmp_path, card_frames):
    marked = process_pages(card_frames, str(tmp_path / "a.png"), idcard=True)
    plain = process_pages(card_frames, str(tmp_path / "b.png"), idcard=True, watermark="")
    a = cv2.imread(str(tmp_path / "a.png"))
    b = cv2.imread(str(tmp_path / "b.png"))
    assert marked["pages"] == plain["pages"] == 1
    diff = cv2.absdiff(a, b).max(axis=2) > 30
    assert diff.mean() > 0.01  # watermark text across the page
    # Blank paper between the cards carries the watermark too.
    assert diff[: a.shape[0] // 8].mean() > 0.005


def test_idcard_needs_exactly_two_images(tmp_path, card_frames):
    with pytest.raises(InvalidData, match="exactly two"):
        process_pages(card_frames[:1], str(tmp_path / "x.pdf"), idcard=True)


def test_watermark_without_the_cjk_font_fails_clearly(tmp_path, card_frames, monkeypatch):
    monkeypatch.setattr(pipeline, "CJK_FONT_PATH", str(tmp_path / "missing.ttc"))
    with pytest.raises(DeviceError) as exc:
        process_pages(card_frames, str(tmp_path / "x.pdf"), idcard=True)
    assert "fonts-noto-cjk" in exc.value.action


@pytest.mark.parametrize("out,n,mode,why", [
    ("x.jpg", 2, "color", "need a PDF"),
    ("x.jpg", 1, "bw", "PDF (CCITT G4) or PNG"),
    ("x.gif", 1, "color", ".jpg, .png or .pdf"),
])
def test_output_rules(tmp_path, a4_frame, out, n, mode, why):
    with pytest.raises(InvalidData, match=why.replace("(", r"\(").replace(")", r"\)")):
        process_pages([a4_frame] * n, str(tmp_path / out), mode=mode)


def test_dpi_below_200_is_refused(tmp_path, a4_frame):
    with pytest.raises(InvalidData, match="dpi"):
        process_pages([a4_frame], str(tmp_path / "x.jpg"), dpi=150)


def test_a_frame_without_a_page_is_used_whole_and_reported(tmp_path):
    flat = np.full((1200, 900, 3), 240, np.uint8)
    cv2.putText(flat, "TEXT", (100, 600), cv2.FONT_HERSHEY_SIMPLEX, 5, (20, 20, 20), 12)
    r = process_pages([flat], str(tmp_path / "whole.jpg"))
    info = r["page_info"][0]
    assert info["detected"] is False and info["warnings"][0]["code"] == "no_page"


def test_blur_and_glare_checks_tell_what_to_fix(a4_frame):
    sharp = pipeline.flatten_page(a4_frame, 200)
    assert [w["code"] for w in sharp.warnings] == []
    blurred = cv2.GaussianBlur(sharp.image, (0, 0), 6)
    assert "blurred" in [w["code"] for w in enhance.quality_warnings(blurred)]
    glare = sharp.image.copy()
    cv2.circle(glare, (600, 900), 150, (255, 255, 255), -1)
    codes = {w["code"]: w for w in enhance.quality_warnings(glare)}
    assert "glare" in codes and "light" in codes["glare"]["action"]


def test_page_geometry_snaps_to_known_papers():
    a4 = np.array([[0, 0], [210, 0], [210, 297], [0, 297]], float) * 5
    assert page_geometry(a4).name == "a4"
    card = np.array([[0, 0], [856, 0], [856, 540], [0, 540]], float)
    g = page_geometry(card)
    assert g.name == "id1" and g.width_mm == pytest.approx(85.6)
    assert page_geometry(a4, mm_per_px=0.14).name == "a5"  # 1485 px × 0.14 mm ≈ 208 mm long side
    square = np.array([[0, 0], [500, 0], [500, 500], [0, 500]], float)
    assert page_geometry(square).name == "measured"


# --- load_image: bad input gets a clear error, never a crash ---------------------------------------------------

def test_load_image_rejects_a_file_that_is_not_an_image(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is text")
    with pytest.raises(InvalidData, match="not an image"):
        load_image(str(p))


def test_load_image_rejects_a_one_pixel_image(tmp_path):
    p = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(p)
    with pytest.raises(InvalidData, match="too small"):
        load_image(str(p))


def test_load_image_rejects_a_100_megapixel_image_before_decoding(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("1", (10000, 10000)).save(p)  # compresses to a few KB; decoded it would be 100 MP
    with pytest.raises(InvalidData, match="megapixels"):
        load_image(str(p))


def test_load_image_rejects_a_truncated_jpeg(tmp_path):
    img, _ = demo_scene(seed=3, size=(640, 480))
    ok, buf = cv2.imencode(".jpg", img)
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.tobytes()[: len(buf) // 3])
    with pytest.raises(InvalidData, match="cannot be decoded"):
        load_image(str(p))


def test_load_image_missing_file(tmp_path):
    with pytest.raises(InvalidData, match="no such file"):
        load_image(str(tmp_path / "nope.jpg"))


def test_load_image_applies_exif_orientation(tmp_path):
    im = Image.new("RGB", (400, 200), (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, 50, 50))  # red square top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    p = tmp_path / "rotated.jpg"
    im.save(p, exif=exif.tobytes(), quality=95)
    arr = load_image(str(p))
    assert arr.shape[:2] == (400, 200)  # portrait after orientation
    assert arr[10, -10, 2] > 200 and arr[10, -10, 1] < 80  # red now top-right (BGR)


def test_load_image_flattens_alpha_and_grey(tmp_path):
    p = tmp_path / "alpha.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(p)
    assert load_image(str(p)).min() == 255  # transparent → white paper
    g = tmp_path / "grey.png"
    Image.new("L", (64, 48), 77).save(g)
    arr = load_image(str(g))
    assert arr.shape == (48, 64, 3) and arr[0, 0, 0] == 77


def test_all_black_frame_is_processed_as_no_page_not_a_crash(tmp_path):
    r = process_pages([np.zeros((1944, 2592, 3), np.uint8)], str(tmp_path / "black.jpg"))
    assert r["page_info"][0]["detected"] is False


def test_encoded_jpeg_is_not_re_encoded_by_pdf_assembly(a4_frame):
    page = enhance.clean(pipeline.flatten_page(a4_frame, 200).image, "color")
    jpeg = pipeline.encode_page(page, "pdf", "color", 200, 75)
    pdf = pipeline._assemble([page], "pdf", "color", 200, 75)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        img = _first_image(doc)
        assert img.read_raw_bytes() == jpeg
