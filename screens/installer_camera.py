"""高拍仪画面: the live camera picture with the detected page outlined and a sharpness meter, for setting the
camera's height, focus and lamp. The preview is computed on a worker thread; the UI thread only uploads it."""
from __future__ import annotations

import threading

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty, ObjectProperty, StringProperty

from screens.base import KioskScreen, load_kv
from screens.installer import installer_service

FPS = 8


class InstallerCameraScreen(KioskScreen):
    texture = ObjectProperty(None, allownone=True)
    meter = NumericProperty(0.0)  # 0..1; the green zone starts at 0.4 (the focus check's threshold)
    verdict = StringProperty("")
    numbers = StringProperty("")
    _event = None
    _busy = False

    def on_enter(self, *args):
        self._event = Clock.schedule_interval(self._tick, 1 / FPS)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None
        installer_service(self.app).stop_camera()

    def _tick(self, _dt) -> None:
        if self._busy:
            return
        self._busy = True

        def work():
            try:
                frame, quality = installer_service(self.app).camera_view()
            except Exception as exc:
                frame, quality = None, exc
            Clock.schedule_once(lambda dt: self._show(frame, quality), 0)

        threading.Thread(target=work, name="installer-camera", daemon=True).start()

    def _show(self, frame, quality) -> None:
        self._busy = False
        if frame is None:
            self.verdict = self._("No picture from the camera.") if not isinstance(quality, Exception) else str(quality)
            self.meter = 0.0
            return
        h, w = frame.shape[:2]
        if self.texture is None or self.texture.size != (w, h):
            self.texture = Texture.create(size=(w, h), colorfmt="bgr")
            self.texture.flip_vertical()
        self.texture.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.ids.preview.canvas.ask_update()
        self.meter = quality.meter
        self.verdict = {"sharp": self._("In focus"), "blurred": self._("Blurred: adjust the focus")}[quality.focus_verdict]
        exposure = {"ok": self._("exposure ok"), "dark": self._("too dark"), "bright": self._("over-exposed")}[quality.exposure_verdict]
        self.numbers = self._("sharpness {s:.0f} (at least {m:.0f}) · brightness {b:.0f} · {e} · {w}×{h} preview").format(
            s=quality.sharpness, m=quality.sharp_min, b=quality.brightness, e=exposure, w=w, h=h)

    def reset(self) -> None:
        self.texture = None


SCREEN_CLASS = InstallerCameraScreen
load_kv("installer_camera")
