"""Perspective correction: warp the detected page to its real aspect (A4, A5, ID card or measured) at a given dpi."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.scanner.geometry import order_corners

MM_PER_INCH = 25.4
PAPER_MM = {
    "a4": (210.0, 297.0),  # ISO 216
    "a5": (148.0, 210.0),  # ISO 216
    "id1": (53.98, 85.6),  # ISO/IEC 7810 ID-1: the resident ID card (short, long)
}
ASPECT_TOLERANCE = 0.06  # relative; a measured aspect this close to a known paper snaps to it


@dataclass
class PageGeometry:
    name: str  # "a4" | "a5" | "id1" | "measured"
    width_mm: float  # along corners[0] → corners[1]
    height_mm: float  # along corners[1] → corners[2]

    def pixels(self, dpi: int) -> tuple[int, int]:
        return mm_to_px(self.width_mm, dpi), mm_to_px(self.height_mm, dpi)


def mm_to_px(mm: float, dpi: float) -> int:
    return max(1, int(round(mm / MM_PER_INCH * dpi)))


def measure(corners: np.ndarray) -> tuple[float, float]:
    """Mean lengths of the (top/bottom, left/right) side pairs in pixels."""
    q = np.asarray(corners, np.float64).reshape(4, 2)
    top = np.linalg.norm(q[1] - q[0])
    bottom = np.linalg.norm(q[2] - q[3])
    left = np.linalg.norm(q[3] - q[0])
    right = np.linalg.norm(q[2] - q[1])
    return (top + bottom) / 2, (left + right) / 2


def page_geometry(corners: np.ndarray, kind: str = "auto", mm_per_px: float | None = None) -> PageGeometry:
    """The page's real size from its corners.

    `kind` forces a paper ("a4", "a5", "id1"); "auto" snaps the measured aspect to A4 or ID-1 when it is within
    `ASPECT_TOLERANCE` (A4 and A5 share an aspect: A5 is chosen only when `mm_per_px`, the camera's scale at the
    desk, says the page is that small). Otherwise the measured aspect is kept with the long side at 297 mm, or
    at its true length when `mm_per_px` is known.
    """
    w_px, h_px = measure(corners)
    landscape = w_px > h_px
    long_px, short_px = max(w_px, h_px), max(min(w_px, h_px), 1e-6)
    aspect = long_px / short_px

    def oriented(name: str, short_mm: float, long_mm: float) -> PageGeometry:
        return PageGeometry(name, long_mm, short_mm) if landscape else PageGeometry(name, short_mm, long_mm)

    if kind in PAPER_MM:
        return oriented(kind, *PAPER_MM[kind])
    for name in ("id1", "a4"):
        s, l = PAPER_MM[name]
        if abs(aspect - l / s) / (l / s) < ASPECT_TOLERANCE:
            if name == "a4" and mm_per_px is not None and long_px * mm_per_px < (210 + 297) / 2:
                name = "a5"
            return oriented(name, *PAPER_MM[name])
    long_mm = long_px * mm_per_px if mm_per_px else 297.0
    return oriented("measured", long_mm / aspect, long_mm)


def flatten(image: np.ndarray, corners: np.ndarray, geometry: PageGeometry, dpi: int) -> np.ndarray:
    """Warp the quadrilateral `corners` of `image` to a flat page of `geometry` at `dpi`."""
    q = order_corners(corners).astype(np.float32)
    w, h = geometry.pixels(dpi)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hom = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(image, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
