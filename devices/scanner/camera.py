"""The document camera (高拍仪): a grabber thread that always holds the newest frame, a low-resolution preview
with the detected page outline, full-resolution stills, and recovery after unplug/replug.

The camera is reopened by the same spec (a `/dev/v4l/by-id/…` path survives re-plugging, an index does not).
Status follows the device model (DESIGN §7): ONLINE while frames arrive, NO_DEVICE while the camera is gone,
OFFLINE while it is there but sends nothing (stalled).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import cv2
import numpy as np

from devices.errors import DeviceAbsent, DeviceTimeout
from devices.model import Lifecycle, Status
from devices.scanner.autocapture import StillnessTrigger
from devices.scanner.detect import Detection, detect_page
from devices.scanner.source import FrameSource, open_source

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 1280
REOPEN_BACKOFF = (0.2, 0.5, 1.0, 2.0)  # seconds between reopen attempts while the camera is gone


class Camera:
    def __init__(self, source_spec: str, width: int = 0, height: int = 0, preview_width: int = PREVIEW_WIDTH,
                 source: FrameSource | None = None) -> None:
        self.source_spec = source_spec
        self.source: FrameSource = source or open_source(source_spec, width, height)
        self.preview_width = preview_width
        self.status: Status = Status.OFFLINE
        self.lifecycle: Lifecycle = Lifecycle.CLOSED
        self.mode: tuple[int, int] = (0, 0)
        self.last_error: DeviceAbsent | DeviceTimeout | None = None
        self.listeners: list[Callable[[Status], None]] = []  # called from the grabber thread on status changes
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._preview_cache: tuple[int, np.ndarray, Detection | None] | None = None

    # lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start grabbing. Never raises: a missing camera shows as `status` NO_DEVICE and is retried."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-grabber", daemon=True)
        self._thread.start()
        self.lifecycle = Lifecycle.ENABLED

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.source.close()
        self.lifecycle = Lifecycle.CLOSED
        self._set_status(Status.OFFLINE)

    def __enter__(self) -> "Camera":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # grabber ------------------------------------------------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        if status == self.status:
            return
        self.status = status
        log.info("camera %s: %s", self.source.description, status.value)
        for fn in list(self.listeners):
            try:
                fn(status)
            except Exception:  # a listener must not kill the grabber
                log.exception("camera status listener failed")

    def _run(self) -> None:
        attempt = 0
        opened = False
        while not self._stop.is_set():
            if not opened:
                try:
                    self.mode = self.source.open()
                    opened = True
                    attempt = 0
                    self.last_error = None
                    self._set_status(Status.ONLINE)
                except (DeviceAbsent, DeviceTimeout) as exc:
                    self.last_error = exc
                    self._set_status(Status.NO_DEVICE if isinstance(exc, DeviceAbsent) else Status.OFFLINE)
                    self._stop.wait(REOPEN_BACKOFF[min(attempt, len(REOPEN_BACKOFF) - 1)])
                    attempt += 1
                    continue
            frame = self.source.read()
            if self._stop.is_set():
                break
            if frame is None:
                # Unplugged or stalled past the read timeout: release and reopen by the same path.
                # OFFLINE until the reopen tells absent (NO_DEVICE) from silent (stays OFFLINE).
                self.last_error = DeviceTimeout("camera_lost", f"camera {self.source.description} stopped sending pictures",
                                                "check the document camera's USB cable; it reconnects by itself")
                self._set_status(Status.OFFLINE)
                self.source.close()
                opened = False
                continue
            with self._cond:
                self._frame = frame
                self._seq += 1
                self._cond.notify_all()
            self._set_status(Status.ONLINE)
        self.source.close()

    # frames -------------------------------------------------------------------------------------------------

    def latest(self) -> tuple[int, np.ndarray | None]:
        with self._cond:
            return self._seq, self._frame

    def preview(self) -> tuple[np.ndarray | None, Detection | None]:
        """The newest frame at preview size and the page detected in it (in preview pixels)."""
        seq, frame = self.latest()
        if frame is None:
            return None, None
        cached = self._preview_cache
        if cached is not None and cached[0] == seq:
            return cached[1], cached[2]
        h, w = frame.shape[:2]
        if w > self.preview_width:
            small = cv2.resize(frame, (self.preview_width, int(round(h * self.preview_width / w))),
                               interpolation=cv2.INTER_AREA)
        else:
            small = frame
        det = detect_page(small)
        self._preview_cache = (seq, small, det)
        return small, det

    def capture_still(self, timeout: float = 5.0) -> np.ndarray:
        """A full-resolution frame taken after this call (never a stale buffer)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            start = self._seq
            while self._seq <= start:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    break
                self._cond.wait(min(left, 0.1))
            if self._seq > start and self._frame is not None:
                return self._frame.copy()
        err = self.last_error
        if self.status == Status.NO_DEVICE or self._thread is None:
            raise DeviceAbsent(err.code if isinstance(err, DeviceAbsent) else "camera_absent",
                               err.message if isinstance(err, DeviceAbsent) else f"camera {self.source_spec} is not running",
                               err.action if isinstance(err, DeviceAbsent) else "plug the document camera in, or start it")
        raise DeviceTimeout("camera_timeout", f"no picture from camera {self.source.description} within {timeout:g} s",
                            "check the document camera's USB cable, then try again")

    def auto_capture(self, timeout: float = 30.0, on_preview: Callable[[np.ndarray, Detection | None], None] | None = None,
                     trigger: StillnessTrigger | None = None) -> np.ndarray:
        """Watch the preview until the page has been still for ~0.5 s, then take a full-resolution still."""
        trigger = trigger or StillnessTrigger()
        deadline = time.monotonic() + timeout
        last_seq = -1
        while time.monotonic() < deadline:
            seq, _ = self.latest()
            if seq == last_seq:
                time.sleep(0.01)
                continue
            last_seq = seq
            small, det = self.preview()
            if small is None:
                continue
            if on_preview is not None:
                on_preview(small, det)
            if trigger.update(small, det, time.monotonic()):
                return self.capture_still(max(0.5, deadline - time.monotonic()))
        if self.status == Status.NO_DEVICE:
            raise DeviceAbsent("camera_absent", f"camera {self.source_spec} is not connected", "plug the document camera in")
        raise DeviceTimeout("no_still_page", f"no page held still under the camera within {timeout:g} s",
                            "place the page flat inside the frame and keep it still")
