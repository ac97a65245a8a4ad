"""Sharpness and exposure of the page in a camera picture: the installer's focus meter and the camera.focus check.

Sharpness is the variance of the Laplacian over the page (its bounding box, or the middle of the picture when no
page is found), measured at a fixed width so the score does not depend on the camera's mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MEASURE_WIDTH = 1000
SHARP_MIN = 60.0  # printed text in focus scores several hundred; a slightly soft lens ~100; blurred < 40
DARK_MAX = 80.0  # mean grey of the page below this: text contrast is lost in noise
CLIPPED_MAX = 0.30  # share of pure-white pixels above this: light print and stamps wash out


@dataclass
class PageQuality:
    sharpness: float
    brightness: float
    clipped: float
    sharp_min: float = SHARP_MIN

    @property
    def focus_verdict(self) -> str:
        return "sharp" if self.sharpness >= self.sharp_min else "blurred"

    @property
    def exposure_verdict(self) -> str:
        if self.brightness < DARK_MAX:
            return "dark"
        if self.clipped > CLIPPED_MAX:
            return "bright"
        return "ok"

    @property
    def meter(self) -> float:
        """0..1 for a bar: the threshold sits at 0.4, four times the threshold fills it."""
        return float(min(1.0, self.sharpness / (self.sharp_min * 2.5)))

    def as_dict(self) -> dict:
        return {"sharpness": round(self.sharpness, 1), "sharpness_min": self.sharp_min, "focus": self.focus_verdict,
                "brightness": round(self.brightness, 1), "clipped": round(self.clipped, 3),
                "exposure": self.exposure_verdict}


def _region(image: np.ndarray, corners: np.ndarray | None) -> np.ndarray:
    h, w = image.shape[:2]
    if corners is not None:
        pts = np.asarray(corners, dtype=np.float32).reshape(-1, 2)
        x0, y0 = np.clip(pts.min(axis=0), 0, [w - 1, h - 1]).astype(int)
        x1, y1 = np.clip(pts.max(axis=0), 0, [w - 1, h - 1]).astype(int)
        # Keep inside the page: its edges against the mat would count as sharp detail.
        dx, dy = (x1 - x0) // 10, (y1 - y0) // 10
        if x1 - x0 > 40 and y1 - y0 > 40:
            return image[y0 + dy:y1 - dy, x0 + dx:x1 - dx]
    return image[h // 5:h - h // 5, w // 5:w - w // 5]


def page_quality(image: np.ndarray, corners: np.ndarray | None = None) -> PageQuality:
    region = _region(image, corners)
    grey = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY) if region.ndim == 3 else region
    h, w = grey.shape[:2]
    if w != MEASURE_WIDTH and w > 0:
        grey = cv2.resize(grey, (MEASURE_WIDTH, max(1, int(round(h * MEASURE_WIDTH / w)))), interpolation=cv2.INTER_AREA)
    brightness, clipped = float(grey.mean()), float((grey >= 250).mean())
    # Stretch the contrast first, so a dim page is called dim (exposure), not blurred (focus).
    lo, hi = np.percentile(grey, (1, 99))
    stretched = (grey.astype(np.float64) - lo) * (255.0 / max(1.0, hi - lo))
    sharpness = float(cv2.Laplacian(stretched, cv2.CV_64F).var())
    return PageQuality(sharpness=sharpness, brightness=brightness, clipped=clipped)
