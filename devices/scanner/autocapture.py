"""Auto-capture (拍照稳定后自动拍摄): shoot once the frame and the detected corners have stayed still ~0.5 s.

Thresholds are normalised (a mean grey difference on the 0–255 scale, corner motion as a fraction of the frame
diagonal) so they mean the same at any preview size.
"""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner.detect import Detection

HOLD_S = 0.5
MOTION_MAX = 3.0  # mean |Δgrey| on a 320 px wide copy, 0–255 scale
CORNER_MOVE_MAX = 0.01  # of the frame diagonal


class StillnessTrigger:
    """Feed preview frames; `update` returns True once per still period with a page in view."""

    def __init__(self, hold_s: float = HOLD_S, motion_max: float = MOTION_MAX, corner_move_max: float = CORNER_MOVE_MAX):
        self.hold_s = hold_s
        self.motion_max = motion_max
        self.corner_move_max = corner_move_max
        self._prev: np.ndarray | None = None
        self._corners: np.ndarray | None = None
        self._still_since: float | None = None
        self._fired = False

    def reset(self) -> None:
        self._prev = self._corners = self._still_since = None
        self._fired = False

    def update(self, frame: np.ndarray, detection: Detection | None, now: float) -> bool:
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (320, max(1, int(h * 320 / w))), interpolation=cv2.INTER_AREA)
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        moving = self._prev is None or self._prev.shape != gray.shape or float(cv2.absdiff(gray, self._prev).mean()) > self.motion_max
        self._prev = gray
        corners = None if detection is None else detection.corners
        if corners is None:
            self._corners = None
            self._still_since = None
            self._fired = False
            return False
        if self._corners is not None:
            move = float(np.abs(corners - self._corners).max()) / float(np.hypot(w, h))
            moving = moving or move > self.corner_move_max
        else:
            moving = True
        self._corners = corners
        if moving:
            self._still_since = now
            self._fired = False
            return False
        if self._still_since is None:
            self._still_since = now
        if not self._fired and now - self._still_since >= self.hold_s:
            self._fired = True
            return True
        return False


def draw_outline(frame: np.ndarray, detection: Detection | None, color=(0, 200, 0)) -> np.ndarray:
    """A copy of the preview frame with the detected page outlined (for the screen)."""
    out = frame.copy()
    if detection is not None and detection.corners is not None:
        pts = np.round(detection.corners).astype(np.int32).reshape(-1, 1, 2)
        thickness = max(2, frame.shape[1] // 320)
        cv2.polylines(out, [pts], True, color, thickness, cv2.LINE_AA)
    return out
