"""Page detection: find the four corners of a page or card in a camera frame, with a confidence.

Where the classic pipeline (Canny + largest quadrilateral at 500 px) needs a dark, contrasting base, this one
combines several cues at a fixed working size and keeps the candidate whose outline is best supported by edges:

1. candidate regions, in stages (the search stops early when one is supported almost all the way round):
   regions enclosed by colour *and* brightness edges (Lab channels, so a white page on a cream desk still
   separates); Otsu segmentations of brightness and "paperness", both polarities; the same edges at higher
   thresholds (textured desks); the part of the frame that differs from a desk model fitted to the frame border
   (a light card on a white desk);
2. for every candidate region, a quadrilateral from its outline: the outline's points are split into the two
   dominant orientation families and each side is a RANSAC line, so a hand over a corner, a glare spot or a page
   crossing the frame edge does not bend the result (corners are intersections of the side lines and may lie
   outside the image); when no region can be the page, straight Hough lines are paired instead;
3. the winner is refined at full resolution: edge profiles across each side, a sub-pixel peak per profile and a
   robust line fit per side.

The confidence mixes the share of full-resolution profiles that found a strong edge on the fitted side with the
coarse score; below `CONFIDENCE_THRESHOLD` no corners are reported ("no page found").
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.scanner.geometry import interior_angles, is_convex, order_corners, polygon_area, side_lengths

CONFIDENCE_THRESHOLD = 0.5  # below this, `corners` is None ("no page found")
WORK_SIZE = 640  # long side of the working copy; thresholds below are tuned for it
BORDER_MARGIN = 4  # working pixels
MIN_AREA_FRACTION = 0.03  # a page smaller than 3 % of the frame is not taken
MAX_ASPECT = 2.5  # long / short side: papers and cards are 1–1.6; a thin strip is a text line, not a page
MAX_ANGLE_DEVIATION = 35.0  # interior angles must stay within 90° ± this (overhead camera, mild keystone)
# Aspect ratios used to extrapolate a side that lies wholly outside the frame.
KNOWN_ASPECTS = (1.0, 1.4142, 1.5857)  # square, ISO 216 (A4/A5), ISO/IEC 7810 ID-1 (85.6 / 53.98)


@dataclass
class Detection:
    corners: np.ndarray | None  # 4×2 float64, clockwise from the corner nearest the top-left; None: no page
    confidence: float
    image_size: tuple[int, int]  # (w, h)

    def as_dict(self) -> dict:
        return {
            "corners": None if self.corners is None else [[round(float(x), 2), round(float(y), 2)] for x, y in self.corners],
            "confidence": round(float(self.confidence), 4),
            "image_size": [int(self.image_size[0]), int(self.image_size[1])],
        }


# ---------------------------------------------------------------------------------------------------------------
# lines


def _fit_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Total least squares: (point on the line, unit direction)."""
    if len(points) < 2:
        return None
    centre = points.mean(axis=0)
    d = points - centre
    _, vecs = np.linalg.eigh(d.T @ d)  # 2×2 scatter matrix: its main axis is the line's direction
    return centre, vecs[:, 1]


def _ransac_line(points: np.ndarray, tol: float, rng: np.random.Generator, iters: int = 60):
    """Robust line through `points`: (point, direction, inlier mask) or None."""
    n = len(points)
    if n < 6:
        return None
    a = points[rng.integers(0, n, iters)]
    b = points[rng.integers(0, n, iters)]
    d = b - a
    norm = np.hypot(d[:, 0], d[:, 1])
    ok = norm > 1e-6
    if not ok.any():
        return None
    a, d, norm = a[ok], d[ok], norm[ok]
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=1) / norm[:, None]
    # Distances of every point to every hypothesis: (hypotheses, points).
    dist = np.abs((points[None, :, 0] - a[:, None, 0]) * nrm[:, None, 0] + (points[None, :, 1] - a[:, None, 1]) * nrm[:, None, 1])
    counts = (dist < tol).sum(axis=1)
    k = int(np.argmax(counts))
    best_count = int(counts[k])
    best = dist[k] < tol
    if best_count < 4:
        return None
    fitted = _fit_line(points[best])
    if fitted is None:
        return None
    p, d = fitted
    nrm = np.array([-d[1], d[0]])
    inliers = np.abs((points - p) @ nrm) < tol
    if inliers.sum() >= 4:
        p, d = _fit_line(points[inliers])
    return p, d, inliers


def _intersect(l1, l2) -> np.ndarray | None:
    p1, d1 = l1
    p2, d2 = l2
    m = np.array([[d1[0], -d2[0]], [d1[1], -d2[1]]])
    det = np.linalg.det(m)
    if abs(det) < 1e-9:
        return None
    t = np.linalg.solve(m, p2 - p1)
    return p1 + t[0] * d1


# ---------------------------------------------------------------------------------------------------------------
# quadrilateral from a region outline


def _quad_from_outline(contour: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray | None:
    """Four corners from a region's outline (working coordinates), or None."""
    w, h = size
    pts = contour.reshape(-1, 2).astype(np.float64)
    n = len(pts)
    if n < 40:
        return None
    k = max(3, n // 200)
    tangent = np.roll(pts, -k, axis=0) - np.roll(pts, k, axis=0)
    theta = np.arctan2(tangent[:, 1], tangent[:, 0])
    m = BORDER_MARGIN  # outline points this close to the frame edge are the frame's, not the page's
    keep = (pts[:, 0] > m) & (pts[:, 0] < w - 1 - m) & (pts[:, 1] > m) & (pts[:, 1] < h - 1 - m)
    if keep.sum() < 30:
        return None
    # Dominant orientation modulo 90° (the 4θ trick), from points away from the frame border.
    z = np.exp(4j * theta[keep]).mean()
    phi = np.angle(z) / 4
    u = np.array([np.cos(phi), np.sin(phi)])
    v = np.array([-np.sin(phi), np.cos(phi)])
    dev_u = np.abs(np.angle(np.exp(2j * (theta - phi)))) / 2  # angle to u, modulo 180°
    dev_v = np.abs(np.angle(np.exp(2j * (theta - phi - np.pi / 2)))) / 2
    tol_ang = np.radians(20)
    centre = pts.mean(axis=0)
    along_v = (pts - centre) @ v
    along_u = (pts - centre) @ u
    groups = [
        keep & (dev_u < tol_ang) & (along_v < 0),  # side with direction u, on the −v side
        keep & (dev_v < tol_ang) & (along_u > 0),  # direction v, +u side
        keep & (dev_u < tol_ang) & (along_v > 0),  # direction u, +v side
        keep & (dev_v < tol_ang) & (along_u < 0),  # direction v, −u side
    ]
    diag = float(np.hypot(w, h))
    tol = max(1.5, diag * 0.003)
    lines: list = []
    for g in groups:
        fit = _ransac_line(pts[g], tol, rng) if g.sum() >= 8 else None
        if fit is not None and fit[2].sum() < max(8, 0.04 * n / 4):
            fit = None
        lines.append(None if fit is None else (fit[0], fit[1]))
    missing = [i for i, l in enumerate(lines) if l is None]
    if len(missing) > 1:
        return None
    if missing:
        lines = _extrapolate_side(lines, missing[0], pts[keep], u, v)
        if lines is None:
            return None
    corners = []
    for i in range(4):
        c = _intersect(lines[i], lines[(i + 1) % 4])
        if c is None:
            return None
        corners.append(c)
    return np.array(corners)


def _extrapolate_side(lines, missing: int, visible: np.ndarray, u, v):
    """Place a side that lies outside the frame, from the opposite side and a known page aspect."""
    opposite = lines[(missing + 2) % 4]
    a, b = lines[(missing + 1) % 4], lines[(missing + 3) % 4]
    if opposite is None or a is None or b is None:
        return None
    width = abs((a[0] - b[0]) @ (np.array([-a[1][1], a[1][0]])))  # distance between the two parallel neighbours
    nrm = np.array([-opposite[1][1], opposite[1][0]])
    proj = (visible - opposite[0]) @ nrm
    sign = 1.0 if abs(proj.max()) >= abs(proj.min()) else -1.0
    extent = proj.max() if sign > 0 else -proj.min()  # how far the visible page reaches from the opposite side
    lengths = sorted({width * r for r in KNOWN_ASPECTS} | {width / r for r in KNOWN_ASPECTS})
    # The visible part reaches the frame edge, so the page is at least that long (less the outline's few px of slack).
    length = next((L for L in lengths if L >= extent * 0.98), extent)
    out = list(lines)
    out[missing] = (opposite[0] + sign * length * nrm, opposite[1])
    return out


# ---------------------------------------------------------------------------------------------------------------
# scoring


def _plausible(quad: np.ndarray, size: tuple[int, int]) -> bool:
    w, h = size
    if quad is None or not np.all(np.isfinite(quad)) or not is_convex(quad):
        return False
    area = polygon_area(quad)
    if area < MIN_AREA_FRACTION * w * h:
        return False
    if polygon_area(_clip_to_frame(quad, w, h)) < 0.5 * area:  # mostly outside the frame
        return False
    angles = interior_angles(order_corners(quad))
    if not np.all(np.abs(angles - 90) < MAX_ANGLE_DEVIATION):
        return False
    sides = side_lengths(order_corners(quad))
    long_side = max(sides[0] + sides[2], sides[1] + sides[3])
    short_side = min(sides[0] + sides[2], sides[1] + sides[3])
    return bool(long_side <= MAX_ASPECT * short_side)


def _inside(quad: np.ndarray, w: int, h: int) -> bool:
    """All corners inside the frame (working coordinates): no side had to be extrapolated."""
    m = 1.0
    return bool(np.all(quad[:, 0] >= m) and np.all(quad[:, 0] <= w - m) and np.all(quad[:, 1] >= m)
                and np.all(quad[:, 1] <= h - m))


def _clip_to_frame(quad: np.ndarray, w: int, h: int) -> np.ndarray:
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    area, poly = cv2.intersectConvexConvex(frame, order_corners(quad).astype(np.float32))
    return np.zeros((3, 2)) if poly is None or area <= 0 else poly.reshape(-1, 2)


def _edge_support(grad: np.ndarray, quad: np.ndarray, thresh: float) -> float:
    """Fraction of points along the sides (inside the frame) that sit on a strong gradient (±2 px)."""
    h, w = grad.shape
    q = order_corners(quad)
    centre = q.mean(axis=0)
    scores = []
    weights = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        t = np.linspace(0.08, 0.92, 40)
        p = a[None, :] + t[:, None] * (b - a)[None, :]
        d = (b - a) / max(np.linalg.norm(b - a), 1e-9)
        nrm = np.array([-d[1], d[0]])
        if (centre - a) @ nrm > 0:
            nrm = -nrm
        best = np.zeros(len(p))
        for s in (-2, -1, 0, 1, 2):
            pp = np.rint(p + s * nrm).astype(int)
            ok = (pp[:, 0] >= 0) & (pp[:, 0] < w) & (pp[:, 1] >= 0) & (pp[:, 1] < h)
            vals = np.zeros(len(p))
            vals[ok] = grad[pp[ok, 1], pp[ok, 0]]
            best = np.maximum(best, vals)
        inside = (p[:, 0] >= 2) & (p[:, 0] < w - 2) & (p[:, 1] >= 2) & (p[:, 1] < h - 2)
        if inside.sum() < 5:
            continue
        scores.append(float((best[inside] > thresh).mean()))
        weights.append(float(inside.sum()))
    if len(scores) < 3:
        return 0.0
    return float(np.average(scores, weights=weights))


# ---------------------------------------------------------------------------------------------------------------
# candidates


def _gradient(chans: list[np.ndarray]) -> np.ndarray:
    grads = []
    for c, gain in zip(chans, (1.0, 2.0, 2.0)):  # chroma steps are small in 8-bit Lab: weigh them up
        gx = cv2.Sobel(c, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(c, cv2.CV_32F, 0, 1, ksize=3)
        grads.append(cv2.magnitude(gx, gy) * gain)
    return np.maximum(np.maximum(grads[0], grads[1]), grads[2])


def _edge_regions(chans: list[np.ndarray], lo: int, hi: int, keep: int, min_area: float) -> list[np.ndarray]:
    """The largest regions enclosed by colour or brightness edges."""
    edges = cv2.Canny(chans[0], lo, hi, L2gradient=True)
    edges |= cv2.Canny(chans[1], lo // 2 + 2, hi // 2 + 4, L2gradient=True)
    edges |= cv2.Canny(chans[2], lo // 2 + 2, hi // 2 + 4, L2gradient=True)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(edges), connectivity=4)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
    return [(labels == i).astype(np.uint8) * 255 for i in order[:keep] if stats[i, cv2.CC_STAT_AREA] >= min_area]


def _threshold_regions(chans: list[np.ndarray], min_area: float) -> list[np.ndarray]:
    """Otsu segmentations of brightness and of 'paperness' (bright and colourless): the largest region on either
    side of each threshold."""
    lum = chans[0]
    chroma = cv2.add(cv2.absdiff(chans[1], 128), cv2.absdiff(chans[2], 128))
    paperness = cv2.subtract(lum, cv2.multiply(chroma, 3))
    out = []
    for ch in (lum, paperness):
        _, th = cv2.threshold(ch, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        # Both polarities: on a white desk a tinted card is the *darker*, more coloured region.
        for mask in (th, cv2.bitwise_not(th)):
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8), iterations=2)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
            if n > 1:
                i = int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1
                if stats[i, cv2.CC_STAT_AREA] >= min_area:
                    out.append((labels == i).astype(np.uint8) * 255)
    return out


def _desk_contrast_regions(chans: list[np.ndarray], min_area: float) -> list[np.ndarray]:
    """Regions that differ from the desk, whatever the direction (brighter, darker, tinted).

    The desk is modelled from the frame's border strip, where the page rarely is, as a smooth quadratic surface per
    Lab channel (which absorbs lighting fall-off); a robust refit drops border pixels covered by the page or a hand.
    This separates a light-blue ID card or a cream page from a white desk where brightness alone cannot.
    """
    h, w = chans[0].shape
    band = max(4, int(0.04 * min(w, h)))
    yy, xx = np.mgrid[0:h:3, 0:w:3]
    on_border = (xx < band) | (xx >= w - band) | (yy < band) | (yy >= h - band)
    bx, by = xx[on_border] / w - 0.5, yy[on_border] / h - 0.5
    design = np.stack([np.ones_like(bx), bx, by, bx * bx, bx * by, by * by], axis=1)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32) / w - 0.5, np.arange(h, dtype=np.float32) / h - 0.5)
    full = [np.ones_like(gx), gx, gy, gx * gx, gx * gy, gy * gy]
    dist2 = np.zeros((h, w), np.float32)
    for c, weight in zip(chans, (0.5, 2.0, 2.0)):
        vals = c[0:h:3, 0:w:3][on_border].astype(np.float64)
        keep = np.ones(len(vals), bool)
        for _ in range(2):
            coef, *_ = np.linalg.lstsq(design[keep], vals[keep], rcond=None)
            resid = np.abs(design @ coef - vals)
            mad = np.median(resid[keep]) + 1.0
            keep = resid < 3.0 * mad
        model = sum(float(k) * f for k, f in zip(coef, full))
        dist2 += (weight * (c.astype(np.float32) - model)) ** 2
    dist = np.sqrt(dist2)
    # Anything clearly above the desk's own variation (texture, noise, model error) on the border strip.
    level = 2.0 * float(np.percentile(dist[0:h:3, 0:w:3][on_border], 90)) + 2.0
    th = (dist > level).astype(np.uint8) * 255
    th = cv2.morphologyEx(th, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    th = cv2.morphologyEx(th, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8), iterations=2)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(th, connectivity=4)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
    return [(labels == i).astype(np.uint8) * 255 for i in order[:2] if stats[i, cv2.CC_STAT_AREA] >= min_area]


CONFIRMED_SUPPORT = 0.9  # share of full-resolution edge profiles on the sides that ends the search
LINE_SUPPORT_RATIO = 0.85
INNER_PEAK_RATIO = 0.5  # an edge profile's innermost peak at least this strong (vs its strongest) is the page edge
EARLY_ACCEPT = 0.93  # a coarse candidate this well supported ends the search (saves time on easy frames)


def _line_quads(chans: list[np.ndarray], w: int, h: int) -> list[np.ndarray]:
    """Quadrilaterals from straight edge segments (Hough), for pages whose outline is too faint to close a region:
    segments are split into the two dominant orientation families, merged into lines by offset, and every pair
    of lines from one family is combined with every pair from the other."""
    edges = cv2.Canny(chans[0], 8, 24, L2gradient=True)
    edges |= cv2.Canny(chans[1], 6, 16, L2gradient=True)
    edges |= cv2.Canny(chans[2], 6, 16, L2gradient=True)
    segs = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=30, minLineLength=int(0.08 * min(w, h)), maxLineGap=6)
    if segs is None or len(segs) < 4:
        return []
    segs = segs.reshape(-1, 4).astype(np.float64)
    d = segs[:, 2:] - segs[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    theta = np.arctan2(d[:, 1], d[:, 0])
    phi = np.angle((length * np.exp(4j * theta)).sum()) / 4
    quads = []
    families = []
    for base in (phi, phi + np.pi / 2):
        dev = np.abs(np.angle(np.exp(2j * (theta - base)))) / 2
        sel = dev < np.radians(12)
        nrm = np.array([-np.sin(base), np.cos(base)])
        mid = (segs[sel, :2] + segs[sel, 2:]) / 2
        off = mid @ nrm
        order = np.argsort(off)
        lines = []  # (offset, total length)
        for k in order:
            if lines and off[k] - lines[-1][0] < 4:
                o, L = lines[-1]
                lines[-1] = ((o * L + off[k] * length[sel][k]) / (L + length[sel][k]), L + length[sel][k])
            else:
                lines.append((off[k], length[sel][k]))
        lines.sort(key=lambda x: -x[1])
        families.append((base, [o for o, _ in lines[:5]]))
    (pa, offs_a), (pb, offs_b) = families
    if len(offs_a) < 2 or len(offs_b) < 2:
        return []
    ua = np.array([np.cos(pa), np.sin(pa)])
    na = np.array([-np.sin(pa), np.cos(pa)])
    ub = np.array([np.cos(pb), np.sin(pb)])
    nb = np.array([-np.sin(pb), np.cos(pb)])
    for i in range(len(offs_a)):
        for j in range(i + 1, len(offs_a)):
            for k in range(len(offs_b)):
                for m in range(k + 1, len(offs_b)):
                    la1, la2 = (na * offs_a[i], ua), (na * offs_a[j], ua)
                    lb1, lb2 = (nb * offs_b[k], ub), (nb * offs_b[m], ub)
                    pts = [_intersect(la1, lb1), _intersect(lb1, la2), _intersect(la2, lb2), _intersect(lb2, la1)]
                    if any(p is None for p in pts):
                        continue
                    quads.append(np.array(pts))
    return quads


def _region_quads(masks: list[np.ndarray], w: int, h: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for m in masks:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        if not contours:
            continue
        quad = _quad_from_outline(max(contours, key=cv2.contourArea), (w, h), rng)
        if quad is not None:
            out.append(quad)
    return out


def _coarse_quads(small: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Scored candidate quadrilaterals (working coordinates), best first.

    Cues are tried in stages, cheapest and most general first; a stage whose best candidate is supported by
    edges almost all the way round ends the search.
    """
    h, w = small.shape[:2]
    smooth = cv2.medianBlur(small, 5)
    chans = list(cv2.split(cv2.cvtColor(smooth, cv2.COLOR_BGR2LAB)))
    grad = _gradient(chans)
    # Edge strength that counts as support: above the frame's own texture, but low enough for a faint page edge.
    thresh = float(np.clip(4.0 * np.median(grad), 12.0, 40.0))
    min_area = MIN_AREA_FRACTION * w * h * 0.5
    rng = np.random.default_rng(0)
    stages = (
        ("region", lambda: _region_quads(_edge_regions(chans, 12, 36, 3, min_area), w, h, rng)),
        ("region", lambda: _region_quads(_threshold_regions(chans, min_area), w, h, rng)),
        ("region", lambda: _region_quads(_edge_regions(chans, 30, 90, 3, min_area), w, h, rng)),
        ("region", lambda: _region_quads(_desk_contrast_regions(chans, min_area), w, h, rng)),
        ("lines", lambda: _line_quads(chans, w, h)),
    )
    found: list[tuple[float, np.ndarray]] = []
    regions: list[np.ndarray] = []
    for kind, stage in stages:
        if kind == "lines" and regions:
            # A region bounded by edges may be the page: straight lines would add the boxes and text rows on it.
            break
        scored = []
        for quad in stage():
            if not _plausible(quad, (w, h)):
                continue
            support = _edge_support(grad, quad, thresh)
            if kind == "region" and support >= 0.3:
                regions.append(quad)
            area = polygon_area(quad) / (w * h)
            scored.append((support + 0.05 * min(area, 1.0), quad, area))
        if kind == "lines" and scored:
            # Line pairs also frame the photo, text blocks and rows on the page; the page is the largest frame
            # that is nearly as well supported as the best one.
            top = max(sc for sc, _, _ in scored)
            largest = max((c for c in scored if c[0] >= LINE_SUPPORT_RATIO * top), key=lambda c: c[2])
            scored = [(top + 0.01, largest[1], largest[2])] + [c for c in scored if c is not largest]
        found.extend((sc, q) for sc, q, _ in scored)
        best = max(found, key=lambda f: f[0], default=None)
        if best is not None and best[0] >= EARLY_ACCEPT and _inside(best[1], w, h):
            break  # a page crossing the frame edge gets every cue: its extrapolated side is a guess
    found.sort(key=lambda s: -s[0])
    return found


# ---------------------------------------------------------------------------------------------------------------
# full-resolution refinement


def _refine(image: np.ndarray, quad: np.ndarray, radius: float, rng: np.random.Generator,
            samples: int = 48) -> tuple[np.ndarray, float]:
    """Move each side onto the strongest nearby edge at full resolution; returns (corners, support)."""
    h, w = image.shape[:2]
    q = order_corners(quad)
    centre = q.mean(axis=0)
    r = int(max(4, round(radius)))
    offs = np.arange(-r, r + 1, dtype=np.float32)
    taus = np.array([-3.0, -1.5, 0.0, 1.5, 3.0], np.float32)
    lines = []
    supports = []
    weights = []
    tol = max(1.5, 0.0012 * np.hypot(w, h))
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        length = np.linalg.norm(b - a)
        d = (b - a) / max(length, 1e-9)
        nrm = np.array([-d[1], d[0]])
        if (centre - a) @ nrm > 0:
            nrm = -nrm  # outward
        t = np.linspace(0.05, 0.95, samples)
        p = a[None, :] + t[:, None] * (b - a)[None, :]
        inside = (p[:, 0] >= r) & (p[:, 0] < w - r) & (p[:, 1] >= r) & (p[:, 1] < h - r)
        if inside.sum() < 6:
            lines.append((a, d))  # the side lies outside the frame: keep the extrapolated line
            continue
        p = p[inside]
        # Sample grid: profiles across the side, averaged over a few tangential offsets.
        gx = p[:, None, None, 0] + taus[None, :, None] * d[0] + offs[None, None, :] * nrm[0]
        gy = p[:, None, None, 1] + taus[None, :, None] * d[1] + offs[None, None, :] * nrm[1]
        mapx = gx.reshape(-1, len(offs)).astype(np.float32)
        mapy = gy.reshape(-1, len(offs)).astype(np.float32)
        prof = cv2.remap(image, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        prof = prof.reshape(len(p), len(taus), len(offs), -1).astype(np.float32).mean(axis=1)
        deriv = np.abs(prof[:, 2:, :] - prof[:, :-2, :]) * 0.5
        strength = deriv.max(axis=2)  # (n, len(offs) - 2)
        # The innermost strong peak: outside a page edge there may be its shadow's edge, never more page.
        row_max = strength.max(axis=1, keepdims=True)
        local = np.zeros_like(strength, bool)
        local[:, 1:-1] = (strength[:, 1:-1] >= strength[:, :-2]) & (strength[:, 1:-1] >= strength[:, 2:])
        local[:, 0] = strength[:, 0] >= strength[:, 1]
        local[:, -1] = strength[:, -1] >= strength[:, -2]
        k = np.argmax(local & (strength >= INNER_PEAK_RATIO * row_max), axis=1)
        peak = strength[np.arange(len(p)), k]
        # Sub-pixel peak by a parabola through the neighbours.
        kk = np.clip(k, 1, strength.shape[1] - 2)
        y0 = strength[np.arange(len(p)), kk - 1]
        y1 = strength[np.arange(len(p)), kk]
        y2 = strength[np.arange(len(p)), kk + 1]
        den = y0 - 2 * y1 + y2
        frac = np.where(np.abs(den) > 1e-6, 0.5 * (y0 - y2) / np.where(np.abs(den) > 1e-6, den, 1), 0.0)
        pos = offs[1:-1][kk] + np.clip(frac, -1, 1)
        strong = peak > 3.0
        edge_pts = p + pos[:, None] * nrm[None, :]
        fit = _ransac_line(edge_pts[strong], tol, rng) if strong.sum() >= 6 else None
        if fit is None:
            lines.append((a, d))
            supports.append(0.0)
            weights.append(float(len(p)))
            continue
        lines.append((fit[0], fit[1]))
        supports.append(float(fit[2].sum()) / len(p))
        weights.append(float(len(p)))
    corners = []
    for i in range(4):
        c = _intersect(lines[(i + 3) % 4], lines[i])
        corners.append(q[i] if c is None else c)
    support = float(np.average(supports, weights=weights)) if len(supports) >= 2 else 0.0
    return np.array(corners), support


# ---------------------------------------------------------------------------------------------------------------


def _reduce(image: np.ndarray) -> np.ndarray:
    """The working copy: the frame reduced by an integer factor to about `WORK_SIZE` on its long side.

    Area averaging straight from 13 MP costs ~45 ms on one core; a bilinear step to twice the working size and a
    2×2 area step cost ~5 ms and smooth enough for the coarse search (corners are refined at full resolution).
    """
    h, w = image.shape[:2]
    factor = int(max(w, h) // WORK_SIZE)
    if factor < 2:
        return image
    size = (w // factor, h // factor)
    if factor >= 4:
        image = cv2.resize(image, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def detect_page(image: np.ndarray, refine: bool = True) -> Detection:
    """Corners of the page in `image` (BGR or grey), in its own pixels, with a confidence in [0, 1]."""
    if image is None or image.ndim not in (2, 3) or image.shape[0] < 8 or image.shape[1] < 8:
        size = (0, 0) if image is None or image.ndim < 2 else (int(image.shape[1]), int(image.shape[0]))
        return Detection(None, 0.0, size)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    h, w = image.shape[:2]
    small = _reduce(image)
    sx = w / small.shape[1]
    sy = h / small.shape[0]
    candidates = _coarse_quads(small)
    if not candidates:
        return Detection(None, 0.0, (w, h))
    rng = np.random.default_rng(1)
    best: tuple[float, np.ndarray] | None = None
    # Refine the best candidates in turn until one is confirmed by full-resolution edges all round.
    for coarse_score, quad in candidates[:3]:
        full = quad * np.array([sx, sy])
        if refine:
            full, support = _refine(image, full, radius=3 * max(sx, sy) + 6, rng=rng)
            full, support = _refine(image, full, radius=max(4.0, 0.8 * max(sx, sy) + 2), rng=rng)
        else:
            support = coarse_score
        if not _plausible(full, (w, h)):
            continue
        conf = float(np.clip(min(support, 1.0) * 0.7 + min(coarse_score, 1.0) * 0.3, 0, 1))
        if best is None or conf > best[0]:
            best = (conf, full)
        if support >= CONFIRMED_SUPPORT:
            break
    if best is None or best[0] < CONFIDENCE_THRESHOLD:
        return Detection(None, 0.0 if best is None else best[0], (w, h))
    return Detection(order_corners(best[1]), best[0], (w, h))
