"""Health check of the document camera at the DESIGN §7 levels.

internal: the camera opens and delivers frames (mode, frame rate); external: a full-resolution still and page
detection on it; interactive: the same, after the installer has been asked to lay a page under the camera.
"""
from __future__ import annotations

import time
from typing import Callable

from devices.errors import DeviceError
from devices.model import DeviceErrorInfo, HealthLevel, HealthReport, Status
from devices.scanner.camera import Camera
from devices.scanner.detect import detect_page

FIRST_FRAME_S = 5.0


def check_health(source_spec: str, level: HealthLevel = HealthLevel.INTERNAL, width: int = 0, height: int = 0,
                 ask: Callable[[str], None] | None = None) -> HealthReport:
    report = HealthReport("camera", Status.NO_DEVICE, level, {"source": source_spec})
    try:
        camera = Camera(source_spec, width=width, height=height)
    except DeviceError as exc:
        report.errors.append(DeviceErrorInfo(exc.code, exc.message, exc.action))
        return report
    camera.start()
    try:
        deadline = time.monotonic() + FIRST_FRAME_S
        first_seq = None
        while time.monotonic() < deadline:
            seq, frame = camera.latest()
            if frame is not None:
                if first_seq is None:
                    first_seq, first_at = seq, time.monotonic()
                elif seq >= first_seq + 5:
                    break
            time.sleep(0.05)
        seq, frame = camera.latest()
        if frame is None:
            report.status = camera.status if camera.status != Status.ONLINE else Status.OFFLINE
            err = camera.last_error
            if err is not None:
                report.errors.append(DeviceErrorInfo(err.code, err.message, err.action))
            else:
                report.errors.append(DeviceErrorInfo("camera_no_frames", "the camera sent no picture",
                                                     "check the document camera's USB cable and power"))
            return report
        report.status = Status.ONLINE
        h, w = frame.shape[:2]
        report.details.update(mode=[w, h], megapixels=round(w * h / 1e6, 1))
        if first_seq is not None and seq > first_seq:
            report.details["fps"] = round((seq - first_seq) / max(1e-3, time.monotonic() - first_at), 1)
        if level == HealthLevel.INTERNAL:
            return report
        if level == HealthLevel.INTERACTIVE and ask is not None:
            ask("Lay a page of paper flat under the document camera, then press Enter.")
        try:
            still = camera.capture_still()
        except DeviceError as exc:
            report.errors.append(DeviceErrorInfo(exc.code, exc.message, exc.action))
            return report
        det = detect_page(still)
        report.details.update(page_found=det.corners is not None, confidence=round(float(det.confidence), 3))
        if det.corners is None:
            report.errors.append(DeviceErrorInfo("camera_no_page", "no page was found in the camera's picture",
                                                 "lay a page flat under the camera, away from bright light, and check the focus"))
        return report
    finally:
        camera.stop()
