"""Synthetic document-camera scenes with exact page corners: a form page or an ID-sized card on a desk.

Used by the simulated camera (demo frames) and by the benchmark and tests (seeded scenes whose ground truth is
known to the sub-pixel). Rendering is deliberately camera-like: soft shadow, lighting fall-off, glare, a hand,
blur, sensor noise and JPEG.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import cv2
import numpy as np

from devices.scanner.geometry import order_corners

CJK_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_FONT_INDEX = 2  # face 2 of Debian's Noto CJK collection is Simplified Chinese (face 0 is Japanese)

A4_MM = (210.0, 297.0)  # ISO 216
A5_MM = (148.0, 210.0)  # ISO 216
ID1_MM = (85.6, 53.98)  # ISO/IEC 7810 ID-1, the size of the resident ID card (GB/T 14916-2022 refers to it)
ID1_CORNER_RADIUS_MM = 3.18  # ISO/IEC 7810

BASES = ("dark_mat", "mid_grey", "wood", "cloth", "white_desk", "cream_desk")

# Common characters, enough to look like a Chinese government form.
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学"
    "法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外"
    "天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很"
    "情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她"
    "手角期根论运农指几九区强放决西被干做必战先回则任取据处府研质信政务服务申请材料身份证号码姓名住址联系电话办理事项"
)
_TITLES = ("政务服务事项申请表", "居民身份证申领登记表", "社会保险参保登记表", "不动产登记申请书", "个体工商户登记申请书")
_LABELS = ("申请人姓名", "公民身份号码", "联系电话", "户籍地址", "现居住地址", "申请事项", "办理方式", "申请日期", "工作单位", "备注")


@functools.lru_cache(maxsize=32)
def cjk_font(size: int):
    """The Simplified Chinese face of Noto Sans CJK at `size` px; None when the font is not installed."""
    from PIL import ImageFont

    if not os.path.exists(CJK_FONT_PATH):
        return None
    return ImageFont.truetype(CJK_FONT_PATH, size, index=CJK_FONT_INDEX)


def release_fonts() -> None:
    """Close the faces `cjk_font` keeps: each maps the whole font collection (19 MB resident once read)."""
    cjk_font.cache_clear()


def _hanzi(rng: np.random.Generator, n: int) -> str:
    idx = rng.integers(0, len(_HANZI), n)
    return "".join(_HANZI[i] for i in idx)


def _draw_text(draw, xy, text, size, fill) -> None:
    font = cjk_font(size)
    if font is not None:
        draw.text(xy, text, font=font, fill=fill)
    else:  # no CJK font: blocks of the same rhythm keep the page's texture
        x, y = xy
        for _ in text:
            draw.rectangle([x + size * 0.1, y + size * 0.15, x + size * 0.9, y + size * 0.95], fill=fill)
            x += size


def render_seal(diameter: int, text: str = "政务服务专用章") -> np.ndarray:
    """A red round seal (公章) as an RGB multiply layer: white where there is no ink."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (diameter, diameter), (255, 255, 255))
    d = ImageDraw.Draw(img)
    red = (214, 38, 42)
    ring = max(2, diameter // 28)
    d.ellipse([ring, ring, diameter - ring, diameter - ring], outline=red, width=ring)
    c = diameter / 2
    r_star = diameter * 0.16
    pts = []
    for k in range(10):
        r = r_star if k % 2 == 0 else r_star * 0.4
        a = -np.pi / 2 + k * np.pi / 5
        pts.append((c + r * np.cos(a), c - diameter * 0.02 + r * np.sin(a)))
    d.polygon(pts, fill=red)
    # Characters along the upper arc.
    size = max(8, int(diameter * 0.12))
    font = cjk_font(size)
    n = len(text)
    for i, ch in enumerate(text):
        a = np.radians(-150 + 120 * (i + 0.5) / n)
        rr = c - ring * 2 - size * 0.75
        x, y = c + rr * np.cos(a) - size / 2, c + rr * np.sin(a) - size / 2
        if font is not None:
            glyph = Image.new("L", (size * 2, size * 2), 0)
            ImageDraw.Draw(glyph).text((size / 2, size / 2), ch, font=font, fill=255)
            glyph = glyph.rotate(-np.degrees(a) - 90, resample=Image.BILINEAR)
            img.paste(Image.new("RGB", glyph.size, red), (int(x - size / 2), int(y - size / 2)), glyph)
        else:
            d.rectangle([x, y, x + size * 0.8, y + size * 0.8], fill=red)
    return np.asarray(img)


def render_form_page(rng: np.random.Generator, width: int = 1240, paper_rgb=(248, 248, 246),
                     lines: int | None = None) -> np.ndarray:
    """An A4 form (portrait) as RGB: red title, labelled fields and text lines, a red seal at the bottom right."""
    from PIL import Image, ImageDraw

    height = int(round(width * A4_MM[1] / A4_MM[0]))
    img = Image.new("RGB", (width, height), tuple(int(v) for v in paper_rgb))
    d = ImageDraw.Draw(img)
    margin = int(width * 0.09)
    title = _TITLES[int(rng.integers(0, len(_TITLES)))]
    tsize = int(width * 0.048)
    font = cjk_font(tsize)
    tw = font.getlength(title) if font is not None else tsize * len(title)
    _draw_text(d, ((width - tw) / 2, height * 0.06), title, tsize, (206, 28, 32))
    d.line([margin, height * 0.06 + tsize * 1.6, width - margin, height * 0.06 + tsize * 1.6], fill=(206, 28, 32),
           width=max(2, width // 400))
    size = int(width * 0.024)
    y = height * 0.16
    bottom = height * 0.80
    n = 0
    max_chars = int((width - 2 * margin) / size)
    while y < bottom and (lines is None or n < lines):
        if rng.random() < 0.45:
            label = _LABELS[int(rng.integers(0, len(_LABELS)))] + "："
            _draw_text(d, (margin, y), label, size, (25, 25, 25))
            x0 = margin + size * len(label)
            d.line([x0, y + size * 1.25, width - margin, y + size * 1.25], fill=(40, 40, 40), width=max(1, width // 800))
            value = _hanzi(rng, int(rng.integers(3, max(4, max_chars - len(label) - 2))))
            _draw_text(d, (x0 + size * 0.5, y), value, size, (30, 30, 60))
        else:
            indent = 2 if rng.random() < 0.3 else 0
            _draw_text(d, (margin + indent * size, y), _hanzi(rng, max_chars - indent - int(rng.integers(0, 4))), size,
                       (20, 20, 20))
        y += size * 2.0
        n += 1
    page = np.asarray(img).astype(np.float32)
    seal_d = int(width * 0.26)
    seal = render_seal(seal_d).astype(np.float32) / 255.0
    sx, sy = int(width - margin - seal_d * 1.05), int(height * 0.80)
    page[sy:sy + seal_d, sx:sx + seal_d] *= seal
    return page.clip(0, 255).astype(np.uint8)


def render_id_card(rng: np.random.Generator, width: int = 856, back: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An ID-1 card (landscape) as RGB and its mask (rounded corners, ISO/IEC 7810)."""
    from PIL import Image, ImageDraw

    height = int(round(width * ID1_MM[1] / ID1_MM[0]))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.empty((height, width, 3), np.float32)
    tint = rng.uniform(-8, 8, 3)
    wave = 6 * np.sin(xx / width * 18 + np.sin(yy / height * 9) * 2)
    base[..., 0] = 222 + tint[0] + wave
    base[..., 1] = 232 + tint[1] + wave * 0.5
    base[..., 2] = 236 + tint[2] - wave * 0.3
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    size = int(width * 0.042)
    if back:
        emblem = render_seal(int(height * 0.36), text="中华人民共和国")
        e = np.asarray(img).astype(np.float32)
        e[int(height * 0.08):int(height * 0.08) + emblem.shape[0], int(width * 0.06):int(width * 0.06) + emblem.shape[1]] *= (
            emblem.astype(np.float32) / 255.0)
        img = Image.fromarray(e.clip(0, 255).astype(np.uint8))
        d = ImageDraw.Draw(img)
        _draw_text(d, (width * 0.32, height * 0.16), "中华人民共和国", int(size * 1.6), (30, 30, 30))
        _draw_text(d, (width * 0.36, height * 0.36), "居民身份证", int(size * 2.0), (30, 30, 30))
        _draw_text(d, (width * 0.22, height * 0.72), "签发机关  " + _hanzi(rng, 6), size, (30, 30, 30))
        _draw_text(d, (width * 0.22, height * 0.84), "有效期限  2020.01.01-2040.01.01", size, (30, 30, 30))
    else:
        for i, label in enumerate(("姓名", "性别", "出生", "住址")):
            _draw_text(d, (width * 0.06, height * (0.1 + i * 0.16)), label, size, (60, 90, 140))
            _draw_text(d, (width * 0.06 + size * 3, height * (0.1 + i * 0.16)), _hanzi(rng, 3 + 5 * (i == 3)), size, (20, 20, 20))
        _draw_text(d, (width * 0.06, height * 0.82), "公民身份号码  11010519491231002X", size, (20, 20, 20))
        d.rectangle([width * 0.66, height * 0.1, width * 0.93, height * 0.72], fill=(205, 210, 214))
        d.ellipse([width * 0.73, height * 0.18, width * 0.86, height * 0.42], fill=(110, 100, 95))
        d.ellipse([width * 0.69, height * 0.44, width * 0.90, height * 0.85], fill=(60, 60, 70))
    card = np.asarray(img)
    mask = np.zeros((height, width), np.uint8)
    r = int(round(ID1_CORNER_RADIUS_MM / ID1_MM[0] * width))
    cv2.rectangle(mask, (r, 0), (width - 1 - r, height - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (width - 1, height - 1 - r), 255, -1)
    for cx, cy in ((r, r), (width - 1 - r, r), (r, height - 1 - r), (width - 1 - r, height - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, lineType=cv2.LINE_AA)
    return card, mask


def render_base(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A desk or mat as BGR float32 at `size` (w, h); textures are drawn at ¼ scale and enlarged."""
    w, h = size
    sw, sh = max(8, w // 4), max(8, h // 4)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    low = cv2.resize(rng.normal(0, 1, (max(2, sh // 40), max(2, sw // 40))).astype(np.float32), (sw, sh),
                     interpolation=cv2.INTER_CUBIC)
    if kind == "dark_mat":
        v = rng.uniform(20, 60)
        img = np.dstack([np.full((sh, sw), v + t, np.float32) for t in rng.uniform(-4, 4, 3)]) + low[..., None] * 2
    elif kind == "mid_grey":
        v = rng.uniform(105, 150)
        img = np.dstack([np.full((sh, sw), v + t, np.float32) for t in rng.uniform(-5, 5, 3)]) + low[..., None] * 3
    elif kind == "wood":
        angle = rng.uniform(0, np.pi)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        vv = -xx * np.sin(angle) + yy * np.cos(angle)
        grain = np.sin((vv + 25 * low + 6 * np.sin(u / 90)) * rng.uniform(0.18, 0.35))
        fine = cv2.resize(rng.normal(0, 1, (sh, max(2, sw // 8))).astype(np.float32), (sw, sh))
        tone = rng.uniform(0.7, 1.2)
        b = (45 + 18 * grain + 6 * fine) * tone
        g = (85 + 26 * grain + 8 * fine) * tone
        r = (135 + 32 * grain + 10 * fine) * tone
        img = np.dstack([b, g, r])
        plank = rng.uniform(180, 300)
        seams = (np.abs(((vv / plank) % 1.0) - 0.5) > 0.495).astype(np.float32)
        img *= (1 - 0.5 * seams)[..., None]
    elif kind == "cloth":
        c1, c2 = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
        period = rng.uniform(20, 60)
        sx = (np.sin(xx * 2 * np.pi / period) > 0).astype(np.float32)
        sy = (np.sin(yy * 2 * np.pi / (period * rng.uniform(0.6, 1.5))) > 0).astype(np.float32)
        t = (0.5 * sx + 0.5 * sy)[..., None]
        img = c1 * (1 - t) + c2 * t
        weave = (np.sin(xx * 1.7) * np.sin(yy * 1.7))[..., None] * 8
        img = img + weave
    elif kind == "white_desk":
        v = rng.uniform(215, 235)
        img = np.dstack([np.full((sh, sw), v + t, np.float32) for t in rng.uniform(-3, 3, 3)]) + low[..., None] * 2
    elif kind == "cream_desk":
        img = np.dstack([np.full((sh, sw), v, np.float32) for v in
                         (rng.uniform(185, 205), rng.uniform(215, 230), rng.uniform(228, 242))]) + low[..., None] * 2
    else:
        raise ValueError(f"unknown base {kind!r}")
    return cv2.resize(img.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class SceneSpec:
    """Everything that makes one scene; corners are the page's true corners in frame pixels (TL, TR, BR, BL of the page)."""

    frame_size: tuple[int, int]
    corners: np.ndarray
    base: str
    falloff: float = 0.0
    glare: tuple[float, float, float, float] | None = None  # x, y, radius px, strength 0..1
    hand_corner: int | None = None
    blur_sigma: float = 1.0
    noise_sigma: float = 2.5
    jpeg_quality: int = 88
    shadow: float = 0.25
    seed: int = 0


def _draw_hand(frame: np.ndarray, corner: np.ndarray, centre: np.ndarray, page_size: float, rng) -> None:
    """A palm and four fingers over `corner`; masks are drawn at ¼ scale (the hand is soft anyway)."""
    h, w = frame.shape[:2]
    q = 4.0
    sh, sw = h // 4, w // 4
    d = corner - centre
    d = d / max(np.linalg.norm(d), 1e-6)
    palm = (corner + d * page_size * 0.16) / q
    ps = page_size / q
    mask = np.zeros((sh, sw), np.uint8)
    axes = (int(ps * 0.11), int(ps * 0.08))
    ang = float(np.degrees(np.arctan2(d[1], d[0])))
    cv2.ellipse(mask, (int(palm[0]), int(palm[1])), axes, ang, 0, 360, 255, -1, cv2.LINE_AA)
    thick = max(2, int(ps * 0.035))
    for k, spread in enumerate((-0.5, -0.17, 0.17, 0.5)):
        a = np.arctan2(-d[1], -d[0]) + spread * 0.6
        length = ps * (0.2 + 0.03 * (k in (1, 2)))
        tip = palm + np.array([np.cos(a), np.sin(a)]) * length
        cv2.line(mask, (int(palm[0]), int(palm[1])), (int(tip[0]), int(tip[1])), 255, thick, cv2.LINE_AA)
    m = cv2.GaussianBlur(mask, (0, 0), 0.7).astype(np.float32) / 255.0
    shade = cv2.GaussianBlur(mask, (0, 0), max(1.0, ps * 0.03)).astype(np.float32) / 255.0
    shadow = cv2.GaussianBlur(mask, (0, 0), max(1.0, ps * 0.02)).astype(np.float32) / 255.0
    m, shade, shadow = (cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR) for a in (m, shade, shadow))
    skin = np.array([rng.uniform(110, 150), rng.uniform(140, 175), rng.uniform(185, 225)], np.float32)
    hand = skin[None, None, :] * (0.75 + 0.25 * shade[..., None])
    frame *= (1 - 0.35 * shadow)[..., None]
    frame[:] = frame * (1 - m[..., None]) + hand * m[..., None]


def compose_scene(page_rgb: np.ndarray, spec: SceneSpec, page_mask: np.ndarray | None = None,
                  base: np.ndarray | None = None) -> np.ndarray:
    """Photograph `page_rgb` on a desk as `spec` says; returns the frame as BGR uint8."""
    rng = np.random.default_rng(spec.seed + 7919)
    w, h = spec.frame_size
    ph, pw = page_rgb.shape[:2]
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    hom = cv2.getPerspectiveTransform(src, np.asarray(spec.corners, np.float32))
    if base is None:
        base = render_base(spec.base, (w, h), rng)
    page_bgr = np.ascontiguousarray(page_rgb[..., ::-1])
    warped = cv2.warpPerspective(page_bgr, hom, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
    if page_mask is None:
        page_mask = np.full((ph, pw), 255, np.uint8)
    mask = cv2.warpPerspective(page_mask, hom, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    page_size = float(np.sqrt(cv2.contourArea(np.asarray(spec.corners, np.float32))))
    if spec.shadow > 0:
        off = rng.uniform(-1, 1, 2) * page_size * 0.006
        small = cv2.resize(mask, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        shifted = cv2.warpAffine(small, np.float32([[1, 0, off[0] / 4], [0, 1, off[1] / 4]]), (w // 4, h // 4))
        soft = cv2.GaussianBlur(shifted, (0, 0), max(0.5, page_size * 0.002))
        soft = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)
        base = base * (1 - spec.shadow * soft)[..., None]
    frame = base * (1 - mask[..., None]) + warped * mask[..., None]
    if spec.glare is not None:
        gx, gy, gr, gs = spec.glare
        sw, sh = max(8, w // 8), max(8, h // 8)
        yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
        g = np.exp(-(((xx * 8 - gx) ** 2 + (yy * 8 - gy) ** 2) / (2 * (gr / 2) ** 2)))
        g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)
        frame = frame + (262 - frame) * (gs * g)[..., None]
    if spec.hand_corner is not None:
        corners = np.asarray(spec.corners, np.float64)
        _draw_hand(frame, corners[spec.hand_corner], corners.mean(axis=0), page_size, rng)
    if spec.falloff > 0:
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        sw, sh = max(8, w // 16), max(8, h // 16)
        yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
        r2 = ((xx * 16 - cx) ** 2 + (yy * 16 - cy) ** 2) / float(max(cx, w - cx) ** 2 + max(cy, h - cy) ** 2)
        gain = cv2.resize((1 - spec.falloff * r2).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        frame *= gain[..., None]
    if spec.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), spec.blur_sigma)
    if spec.noise_sigma > 0:
        noise = rng.normal(0, spec.noise_sigma, (h // 2, w // 2, 3)).astype(np.float32)
        frame += cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
    out = frame.clip(0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def place_page(rng: np.random.Generator, frame_size: tuple[int, int], page_mm: tuple[float, float],
               height_frac: tuple[float, float] = (0.55, 0.85), max_rotation: float = 25.0,
               keystone: float = 0.02, crossing: bool = False) -> np.ndarray:
    """True corners (TL, TR, BR, BL of the page) for a page of `page_mm` placed on the frame.

    The page's long side spans `height_frac` of the frame height; rotation is uniform in ±`max_rotation` degrees;
    each corner is jittered by up to `keystone` of the page size. Unless `crossing`, the page lies wholly inside the
    frame; with `crossing`, it sticks out over one frame edge by 5–20 % of its size.
    """
    w, h = frame_size
    long_mm = max(page_mm)
    for attempt in range(200):
        scale = rng.uniform(*height_frac) * h / long_mm * (0.985 ** max(0, attempt - 20))
        pw, ph = page_mm[0] * scale, page_mm[1] * scale
        rot = np.radians(rng.uniform(-max_rotation, max_rotation))
        rect = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
        rmat = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
        pts = rect @ rmat.T + rng.uniform(-keystone, keystone, (4, 2)) * max(pw, ph)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        margin = 0.01 * h
        xs = (margin - lo[0], w - margin - hi[0])
        ys = (margin - lo[1], h - margin - hi[1])
        if not crossing:
            if xs[0] > xs[1] or ys[0] > ys[1]:
                continue
            centre = np.array([rng.uniform(*xs), rng.uniform(*ys)])
        else:
            side = int(rng.integers(0, 4))
            out = rng.uniform(0.05, 0.2) * (hi - lo)
            cx = rng.uniform(*sorted(xs)) if xs[0] <= xs[1] else w / 2
            cy = rng.uniform(*sorted(ys)) if ys[0] <= ys[1] else h / 2
            if side == 0:
                cx = -lo[0] - out[0]
            elif side == 1:
                cx = w - hi[0] + out[0]
            elif side == 2:
                cy = -lo[1] - out[1]
            else:
                cy = h - hi[1] + out[1]
            centre = np.array([cx, cy])
        return pts + centre
    raise RuntimeError("could not place the page")  # pragma: no cover - the shrinking scale always fits


def demo_scene(seed: int = 1, size=(2592, 1944)) -> tuple[np.ndarray, np.ndarray]:
    """A BGR frame with an A4 form page on a dark mat, and its true corners in geometric order."""
    rng = np.random.default_rng(seed)
    page = render_form_page(rng, width=1240)
    corners = place_page(rng, tuple(size), A4_MM, height_frac=(0.7, 0.85), max_rotation=8)
    spec = SceneSpec(frame_size=tuple(size), corners=corners, base="dark_mat", falloff=0.12, blur_sigma=0.8,
                     noise_sigma=2.0, jpeg_quality=90, seed=seed)
    return compose_scene(page, spec), order_corners(corners)
