"""Frame sources: everything above `cv2.VideoCapture`, behind one small interface.

`VideoCaptureSource` opens a UVC document camera the way a 高拍仪 needs it: V4L2 backend, MJPG requested *before*
the resolution, the highest mode the camera really gives (checked on the first frame's shape, because `set()` can
report success and be ignored), and a bounded read timeout. The capture class is injectable: the simulator
(`devices.scanner.simulator.SimulatedVideoCapture`) replaces `cv2.VideoCapture` and nothing else.
"""
from __future__ import annotations

import glob
import logging
import os
from typing import Callable, Protocol

import cv2
import numpy as np

from devices.errors import DeviceAbsent, DeviceTimeout

log = logging.getLogger(__name__)

# Without this, a V4L2 read on an unplugged camera blocks in select() for 10 s (cap_v4l.cpp); it is read once,
# before the first capture is opened.
SELECT_TIMEOUT_ENV = "OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"
SELECT_TIMEOUT_S = 2
HIGHEST = 100_000  # asking for an absurd size makes the V4L2 driver clamp to its largest mode


class FrameSource(Protocol):
    """What the camera layer needs from a camera: open, read one frame, close."""

    def open(self) -> tuple[int, int]:
        """Open the camera; returns the (w, h) frames really arrive at.

        Raises DeviceAbsent (not there, cannot be opened) or DeviceTimeout (opened, but no picture).
        """

    def read(self) -> np.ndarray | None:
        """The next BGR frame, or None when the camera stopped delivering (unplugged, stalled past the timeout)."""

    def close(self) -> None: ...

    @property
    def description(self) -> str: ...


def resolve_device(spec: str) -> str | int:
    """'auto' → the first document camera under /dev/v4l/by-id (else index 0); '0' → 0; a path stays a path."""
    if spec in ("", "auto"):
        found = sorted(glob.glob("/dev/v4l/by-id/*-video-index0"))
        return found[0] if found else 0
    if spec.isdigit():
        return int(spec)
    return spec


class VideoCaptureSource:
    """A `FrameSource` over `cv2.VideoCapture` (or anything with its interface)."""

    def __init__(self, target: str | int, width: int = 0, height: int = 0,
                 capture_factory: Callable[..., object] | None = None) -> None:
        self.target = target
        self.width = width
        self.height = height
        self.capture_factory = capture_factory or cv2.VideoCapture
        self.cap = None
        self.mode: tuple[int, int] = (0, 0)

    @property
    def description(self) -> str:
        return str(self.target)

    def open(self) -> tuple[int, int]:
        os.environ.setdefault(SELECT_TIMEOUT_ENV, str(SELECT_TIMEOUT_S))
        target = self.target
        if isinstance(target, str) and target.startswith("/dev/") and not os.path.exists(target):
            raise DeviceAbsent("camera_absent", f"camera {target} is not connected",
                               "plug the document camera in, or check devices.camera.source in the config")
        cap = self.capture_factory(target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise DeviceAbsent("camera_absent", f"camera {target} cannot be opened",
                               "plug the document camera in; check that the service user is in the 'video' group")
        # FOURCC first: with YUYV (the V4L2 default) high resolutions are unavailable or run at a few fps.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width or HIGHEST)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height or HIGHEST)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise DeviceTimeout("camera_silent", f"camera {target} opened but gives no picture",
                               "unplug and replug the document camera; if it persists, replace its cable")
        self.mode = (int(frame.shape[1]), int(frame.shape[0]))  # the truth, whatever get() says
        reported = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        if reported != self.mode:
            log.warning("camera reports %sx%s but delivers %sx%s", *reported, *self.mode)
        if self.width and self.height and self.mode != (self.width, self.height):
            log.warning("camera ignored the requested mode %sx%s; using %sx%s", self.width, self.height, *self.mode)
        self.cap = cap
        return self.mode

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            return None
        ok, frame = self.cap.read()
        return frame if ok and frame is not None else None

    def close(self) -> None:
        if self.cap is not None:
            try:
                self.cap.release()
            finally:
                self.cap = None


def open_source(source_spec: str, width: int = 0, height: int = 0) -> VideoCaptureSource:
    """The frame source for a config or command-line spec: "sim:…", "/dev/v4l/by-id/…", "0" or "auto"."""
    if source_spec.startswith("sim:"):
        from devices.scanner.simulator import SimulatedVideoCapture

        return VideoCaptureSource(source_spec, width, height, capture_factory=SimulatedVideoCapture)
    return VideoCaptureSource(resolve_device(source_spec), width, height)
