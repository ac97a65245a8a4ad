"""A simulated UVC document camera that replaces `cv2.VideoCapture` only.

Everything above it (mode negotiation, the grabber thread, timeouts, recovery) runs unchanged. Targets:

* ``sim:`` — generated scenes (an A4 form on a dark mat, see `demo_scene`);
* ``sim:/path/a.jpg,/path/b.jpg`` or ``sim:/path/dir`` — image files, shown one at a time (`next_page`).

Faults are switched on the shared `SimulatedDevice` for a target (`device("sim:")`): `unplug()` / `replug()`
(an open handle stays dead after a replug, as with V4L2: the camera must be reopened), `stall(True)` (reads block,
then fail after `read_timeout`, like a V4L2 select timeout) and `ignore_mode` (the requested size is reported back
by `get()` but frames keep the default size, as some cameras do).
"""
from __future__ import annotations

import glob
import os
import threading
import time

import cv2
import numpy as np

from devices.scanner.synthetic import demo_scene, release_fonts

__all__ = ["SimulatedDevice", "SimulatedVideoCapture", "demo_scene", "device", "reset"]

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class SimulatedDevice:
    """The state of one simulated camera, shared by every capture opened on its target."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.modes: list[tuple[int, int]] = [(640, 480), (1280, 960), (2592, 1944)]
        self.default_mode = (640, 480)
        self.fps = 15.0
        self.read_timeout = 0.5  # how long a read blocks on a stalled or unplugged camera before failing
        self.plugged = True
        self.stalled = False
        self.ignore_mode = False
        self.generation = 0  # bumped on every unplug: handles opened before stay dead
        self.page = 0
        self.blur_sigma = 0.0  # fault: an out-of-focus lens (Gaussian blur of every frame)
        self.opens = 0
        self.open_handles = 0  # captures opened and not released yet: at 0 the camera's scenes are dropped
        self._lock = threading.Lock()

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False
            self.generation += 1

    def replug(self) -> None:
        with self._lock:
            self.plugged = True

    def stall(self, on: bool = True) -> None:
        self.stalled = on

    def next_page(self) -> None:
        self.page += 1

    def blur(self, sigma: float = 4.0) -> None:
        """Defocus the lens (`sigma` in pixels of the frame); 0 brings it back into focus."""
        self.blur_sigma = max(0.0, float(sigma))

    # frames --------------------------------------------------------------------------------------------------

    def _files(self) -> list[str]:
        rest = self.target[len("sim:"):]
        if not rest:
            return []
        if os.path.isdir(rest):
            return sorted(p for p in glob.glob(os.path.join(rest, "*")) if p.lower().endswith(IMAGE_EXTS))
        return [p for p in rest.split(",") if p]

    def frame(self, mode: tuple[int, int]) -> np.ndarray:
        img = _frame(self.target, self.page, mode)
        if self.blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.blur_sigma * mode[0] / 2592)
        return img


_frame_cache: dict[tuple, tuple[int, np.ndarray]] = {}  # (target, mode) → (page, its scene)
_cache_lock = threading.Lock()
# The cache spares recomposing the scene shown now (a generated 5 MP scene takes ~100 ms, read at 15 fps). Pages
# only move forward, so each camera keeps the scene of its current page in each mode and no other: a real camera
# holds one frame, and the kiosk's memory figures must not count the simulator's cache (three 5 MP scenes kept
# were 44 MB of the app's resident memory). A camera closed holds none: when its last capture is released (the
# kiosk releases it at the end of every session) its scenes go too (15 MB for a 5 MP scene).


def _drop_scenes(target: str) -> None:
    with _cache_lock:
        for key in [k for k in _frame_cache if k[0] == target]:
            del _frame_cache[key]


def _frame(target: str, page: int, mode: tuple[int, int]) -> np.ndarray:
    key = (target, mode)
    with _cache_lock:
        hit = _frame_cache.get(key)
    if hit is not None and hit[0] == page:
        return hit[1]
    with _cache_lock:
        _frame_cache.pop(key, None)  # the old scene goes before the new one is made, not after
    files = device(target)._files()
    if files:
        img = cv2.imread(files[page % len(files)], cv2.IMREAD_COLOR)
        if img is None:
            img = np.zeros((mode[1], mode[0], 3), np.uint8)
        img = cv2.resize(img, mode, interpolation=cv2.INTER_AREA)
    else:
        img, _ = demo_scene(seed=1 + page, size=mode)
        release_fonts()  # the font's faces map the 19 MB collection: not held between scenes
    with _cache_lock:
        _frame_cache[key] = (page, img)
    return img


_devices: dict[str, SimulatedDevice] = {}
_devices_lock = threading.Lock()


def device(target: str = "sim:") -> SimulatedDevice:
    """The simulated camera behind `target` (created on first use)."""
    with _devices_lock:
        dev = _devices.get(target)
        if dev is None:
            dev = _devices[target] = SimulatedDevice(target)
        return dev


def reset() -> None:
    """Forget every simulated camera and cached frame (tests)."""
    with _devices_lock:
        _devices.clear()
    with _cache_lock:
        _frame_cache.clear()


class SimulatedVideoCapture:
    """Drop-in for `cv2.VideoCapture(target, apiPreference)` on a simulated camera."""

    def __init__(self, target, api_preference: int = 0) -> None:
        self.target = str(target)
        self.dev = device(self.target)
        self.dev.opens += 1
        self._open = self.dev.plugged
        with self.dev._lock:
            self.dev.open_handles += 1
        self._counted = True
        self._generation = self.dev.generation
        self._mode = self.dev.default_mode
        self._requested = [0, 0]
        self._fourcc = 0.0
        self._last = 0.0

    def isOpened(self) -> bool:  # noqa: N802 - cv2's name
        return self._open

    def release(self) -> None:
        self._open = False
        with self.dev._lock:
            if not self._counted:
                return
            self._counted = False
            self.dev.open_handles -= 1
            last = self.dev.open_handles == 0
        if last:
            _drop_scenes(self.target)

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_FOURCC:
            self._fourcc = value
        elif prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            self._requested[0 if prop == cv2.CAP_PROP_FRAME_WIDTH else 1] = int(value)
            if not self.dev.ignore_mode and all(self._requested):
                self._mode = self._nearest_mode(*self._requested)
        return True  # like V4L2: success whether or not the camera took it

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FOURCC:
            return self._fourcc
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(self._requested[0] if self.dev.ignore_mode and self._requested[0] else self._mode[0])
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(self._requested[1] if self.dev.ignore_mode and self._requested[1] else self._mode[1])
        if prop == cv2.CAP_PROP_FPS:
            return self.dev.fps
        return 0.0

    def _nearest_mode(self, w: int, h: int) -> tuple[int, int]:
        # Without MJPG only the smallest mode streams (YUYV bandwidth), as on real 高拍仪 cameras.
        modes = self.dev.modes if self._fourcc == cv2.VideoWriter_fourcc(*"MJPG") else self.dev.modes[:1]
        fitting = [m for m in modes if m[0] <= w and m[1] <= h]
        return max(fitting, key=lambda m: m[0] * m[1]) if fitting else min(modes, key=lambda m: m[0] * m[1])

    def _wait_failed(self) -> tuple[bool, None]:
        time.sleep(self.dev.read_timeout)
        return False, None

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self._open:
            return False, None
        if not self.dev.plugged or self._generation != self.dev.generation:
            return self._wait_failed()
        if self.dev.stalled:
            deadline = time.monotonic() + self.dev.read_timeout
            while self.dev.stalled and time.monotonic() < deadline and self._open:
                time.sleep(0.01)
            if self.dev.stalled or not self._open:
                return False, None
        wait = self._last + 1.0 / self.dev.fps - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        return True, self.dev.frame(self._mode).copy()

    def grab(self) -> bool:
        return self.read()[0]
