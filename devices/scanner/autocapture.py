"""Auto-capture (拍照稳定后自动拍摄): shoot once the frame and the detected corners have stayed still ~0.5 s,
the page was found with confidence, and it is not the page taken last (the citizen has turned or changed it).

`page_signature` is a small, contrast-normalised picture of the page inside its detected corners; two signatures
of the same page correlate near 1 whatever its position under the camera, different pages correlate far less.

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
AUTO_CONFIDENCE_MIN = 0.75  # auto-capture only on a confidently detected page (detection itself stops at 0.5)
FIRST_VIEW_S = 1.0  # a page found this soon after a new citizen's preview starts was lying there already
SIGNATURE_SIZE = 48
SAME_PAGE_MIN = 0.92  # correlation at or above which two signatures show the same page (same page moved: ≥ 0.97; two forms of one template: ≤ 0.84)


def page_signature(frame: np.ndarray, corners: np.ndarray | None) -> np.ndarray | None:
    """The page inside `corners` warped to a small square, grey, zero mean and unit norm (None without corners)."""
    if corners is None:
        return None
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    n = SIGNATURE_SIZE
    dst = np.array([[0, 0], [n - 1, 0], [n - 1, n - 1], [0, n - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), dst)
    warped = cv2.warpPerspective(gray, matrix, (n, n), flags=cv2.INTER_AREA).astype(np.float32)
    warped = cv2.GaussianBlur(warped, (0, 0), 1.0)
    warped -= float(warped.mean())
    norm = float(np.linalg.norm(warped))
    return warped / norm if norm > 1e-6 else warped


def same_page(a: np.ndarray | None, b: np.ndarray | None, threshold: float = SAME_PAGE_MIN) -> bool:
    """Whether two signatures show the same page (either way round: a page turned by 180° is still the same)."""
    if a is None or b is None or a.shape != b.shape:
        return False
    return max(float((a * b).sum()), float((a * b[::-1, ::-1]).sum())) >= threshold


class StillnessTrigger:
    """Feed preview frames; `update` returns True once per still period with a new page confidently in view.

    `taken(signature)` tells the trigger which page was captured last (by any means): it does not fire again
    until a different page lies still under the camera.

    `new_session()` is called when a new citizen starts: the page taken last, the page the camera saw when it
    stopped, and the page lying under the camera when it starts again (within `FIRST_VIEW_S`) are never taken by
    themselves in the new session, since they are not the new citizen's; `leftover_in_view` turns True when such
    a page is lying there still. The capture button still takes any page.
    """

    def __init__(self, hold_s: float = HOLD_S, motion_max: float = MOTION_MAX, corner_move_max: float = CORNER_MOVE_MAX,
                 min_confidence: float = AUTO_CONFIDENCE_MIN):
        self.hold_s = hold_s
        self.motion_max = motion_max
        self.corner_move_max = corner_move_max
        self.min_confidence = min_confidence
        self._prev: np.ndarray | None = None
        self._corners: np.ndarray | None = None
        self._still_since: float | None = None
        self._fired = False
        self.last_taken: np.ndarray | None = None  # signature of the page captured last
        self.signature: np.ndarray | None = None  # signature of the page in view when the trigger last fired
        self.mat_page: np.ndarray | None = None  # signature of the page in view when the preview last stopped
        self.leftovers: tuple[np.ndarray, ...] = ()  # pages from before this session: never taken by themselves
        self.leftover_in_view = False
        self._session_starts = False
        self._first_view_until: float | None = None

    def reset(self) -> None:
        self._prev = self._corners = self._still_since = None
        self._fired = False

    def taken(self, signature: np.ndarray | None) -> None:
        """The page with this signature was just captured: wait for another one."""
        self.last_taken = signature
        self.reset()

    def forget_taken(self) -> None:
        """A page was deleted or is to be retaken: the same page may be captured again."""
        self.last_taken = None
        self.reset()

    def new_session(self) -> None:
        """A new citizen: what lies under the camera now, or was taken last, belongs to the previous one."""
        self._session_starts = True
        self.leftover_in_view = False
        self.reset()

    def stopped(self, frame: np.ndarray | None, detection: Detection | None) -> None:
        """The preview stopped with this frame (and detection) the last one seen."""
        corners = None if detection is None or frame is None else detection.corners
        self.mat_page = page_signature(frame, corners) if corners is not None else None

    def update(self, frame: np.ndarray, detection: Detection | None, now: float) -> bool:
        if self._session_starts:
            self._session_starts = False
            self.leftovers = tuple(s for s in (self.mat_page, self.last_taken) if s is not None)
            self.last_taken = self.mat_page = None
            self._first_view_until = now + FIRST_VIEW_S
        if self._first_view_until is not None:
            if detection is not None and detection.corners is not None:
                self.leftovers += (page_signature(frame, detection.corners),)  # lying there before the screen asked
                self._first_view_until = None
            elif now > self._first_view_until:
                self._first_view_until = None  # the mat is empty
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
            if detection.confidence < self.min_confidence:
                return False  # a page, but not sure enough where its edges are: the button still works
            signature = page_signature(frame, corners)
            if same_page(signature, self.last_taken):
                return False  # the page just taken is still there
            if any(same_page(signature, left) for left in self.leftovers):
                self.leftover_in_view = True
                self._fired = True  # until it moves or another page comes
                return False  # the previous citizen's page: only the capture button takes it
            self._fired = True
            self.signature = signature
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
