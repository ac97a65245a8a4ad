"""Scan the materials on the document camera (高拍仪): live preview with the detected page outline."""
from __future__ import annotations

import logging
import threading

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)

PREVIEW_INTERVAL_S = 0.1


class ScanScreen(KioskScreen):
    voice_prompt = N_("Please lay each paper flat under the camera, then press Take photo.")
    material_name = StringProperty("")
    progress = StringProperty("")
    problem = StringProperty("")
    all_done = BooleanProperty(False)
    index = NumericProperty(0)

    _preview_stop = None

    def on_pre_enter(self, *args):
        self.problem = ""
        self._update()
        self.app.run_bg(self.app.terminal.camera, lambda cam: self._start_preview(), self._camera_failed,
                        busy_text=self._("Starting the document camera…"))

    def on_leave(self, *args):
        self._stop_preview()

    def reset(self) -> None:
        self._stop_preview()
        self.ids.preview.texture = None
        self.problem = ""
        self.index = 0
        self.all_done = False

    def _update(self) -> None:
        materials = self.app.session.materials
        missing = [i for i, m in enumerate(materials) if m.document is None]
        self.index = missing[0] if missing else max(0, len(materials) - 1)
        self.all_done = not self.app.session.missing_materials()
        current = materials[self.index] if materials else None
        self.material_name = current.name if current else ""
        done = sum(1 for m in materials if m.document is not None)
        self.progress = self._("{done} of {total} materials scanned").format(done=done, total=len(materials))

    # -- preview -----------------------------------------------------------------------------
    # Page detection on a preview frame takes 20-45 ms, more than a frame: it runs on a worker thread,
    # and only the texture upload happens on the UI thread.
    def _start_preview(self) -> None:
        self._stop_preview()
        stop = threading.Event()
        self._preview_stop = stop
        threading.Thread(target=self._preview_loop, args=(stop,), name="scan-preview", daemon=True).start()

    def _stop_preview(self) -> None:
        stop = getattr(self, "_preview_stop", None)
        if stop is not None:
            stop.set()
            self._preview_stop = None

    def _preview_loop(self, stop: threading.Event) -> None:
        import time

        from devices.scanner.autocapture import StillnessTrigger, draw_outline

        trigger = StillnessTrigger()
        self._trigger = trigger
        while not stop.is_set():
            try:
                frame, detection = self.app.terminal.camera().preview()
            except Exception as exc:
                Clock.schedule_once(lambda dt, e=exc: self._camera_failed(e), 0)
                return
            if frame is not None:
                shown = draw_outline(frame, detection)
                Clock.schedule_once(lambda dt, f=shown, st=stop: None if st.is_set() else self._show_frame(f), 0)
                # 拍照稳定后自动拍摄: the page has stayed still for about half a second.
                if self.app.cfg.devices.camera.auto_capture and trigger.update(frame, detection, time.monotonic()):
                    Clock.schedule_once(lambda dt, st=stop: None if st.is_set() else self._auto_capture(), 0)
            stop.wait(PREVIEW_INTERVAL_S)

    def _auto_capture(self) -> None:
        if self.app.busy or self.all_done:
            return
        log.info("auto-capture: the page is still")
        self.capture()

    def _show_frame(self, frame) -> None:
        import numpy as np

        h, w = frame.shape[:2]
        texture = self.ids.preview.texture
        if texture is None or texture.size != (w, h):
            texture = Texture.create(size=(w, h), colorfmt="bgr")
        texture.blit_buffer(np.ascontiguousarray(frame[::-1]).tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.ids.preview.texture = texture
        self.ids.preview.canvas.ask_update()

    def _camera_failed(self, exc) -> None:
        log.warning("document camera unavailable: %s", exc)
        self.problem = self._("The document camera is not available. Please ask the staff for help.")

    # -- capture -----------------------------------------------------------------------------
    def capture(self) -> None:
        materials = self.app.session.materials
        if not materials:
            return
        material = materials[self.index]
        self.problem = ""
        self.app.run_bg(lambda: self.app.terminal.capture_material(self.app.session, material),
                        self._captured, self._capture_failed, busy_text=self._("Scanning, hold still…"))

    def _captured(self, path) -> None:
        self._update()
        trigger = getattr(self, "_trigger", None)
        if trigger is not None:
            trigger.reset()  # the next material needs its own still moment

    def _capture_failed(self, exc) -> None:
        if getattr(exc, "message_id", "") == "no_page_found":
            self.problem = self._("No page was found. Put the whole page inside the frame, away from bright light, and try again.")
        else:
            self._camera_failed(exc)

    def next(self) -> None:
        if self.app.session.missing_materials():
            self.problem = self._("Please scan every required material first.")
            return
        self.app.go("confirm")


SCREEN_CLASS = ScanScreen
load_kv("scan")
