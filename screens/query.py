"""进度查询: by the ID card on the reader, by the receipt's QR code held under the 高拍仪 (OpenCV's QR detector), or
by typing the receipt number."""
from __future__ import annotations

import logging
import threading
import time

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk.citizen.progress import receipt_from_qr
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import letter_pad, voice_controls  # noqa: F401  (kv rules)
from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)

QR_TIMEOUT_S = 60.0
NOT_OURS = N_("This QR code is not one of our receipts. Please hold the receipt's own QR code under the camera, or type the number.")


class QueryScreen(KioskScreen):
    voice_prompt = N_("How would you like to check? Use your ID card, the receipt's QR code, or type the receipt number.")
    way = StringProperty("")  # "" | qr | typed
    problem = StringProperty("")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._scan_stop = threading.Event()

    def on_pre_enter(self, *args):
        self.problem = ""

    def on_leave(self, *args):
        self.stop_scan()

    def by_card(self) -> None:
        app = self.app
        svc = citizen_services(app)
        svc.query_by, svc.query_purpose = "card", "progress"
        if app.session.logged_in:
            app.go("query_result")
        else:
            svc.after_login = "query_result"
            app.start_session()

    def by_typing(self) -> None:
        self.stop_scan()
        self.way = "typed"
        self.problem = ""

    def typed(self) -> None:
        number = self.ids.receipt_field.text.strip().upper()
        if len(number) < 8:
            self.problem = self._("Please type the whole receipt number, for example K0001-20261201-0001.")
            return
        self.show(number)

    def show(self, number: str) -> None:
        svc = citizen_services(self.app)
        svc.query_by, svc.query_ref, svc.query_purpose = "receipt", number, "progress"
        self.app.go("query_result")

    # -- the receipt's QR under the camera ----------------------------------------------------
    def by_qr(self) -> None:
        self.way = "qr"
        self.problem = ""
        self._scan_stop.clear()
        terminal = self.app.terminal
        stop = self._scan_stop

        def scan():
            import cv2

            try:
                camera = terminal.camera()
            except Exception as exc:
                return "camera", str(exc)
            detector = cv2.QRCodeDetector()
            deadline = time.monotonic() + QR_TIMEOUT_S
            seen = -1
            while not stop.is_set() and time.monotonic() < deadline:
                seq, frame = camera.latest()
                if frame is None or seq == seen:
                    time.sleep(0.05)
                    continue
                seen = seq
                try:
                    text, points, _ = detector.detectAndDecode(frame)
                except cv2.error:
                    text = ""
                if text:
                    return "found", text
                time.sleep(0.05)
            return ("stopped", "") if stop.is_set() else ("timeout", "")

        threading.Thread(target=lambda: self._scanned(scan()), name="qr-scan", daemon=True).start()

    def _scanned(self, outcome) -> None:
        Clock.schedule_once(lambda dt: self._on_scanned(*outcome), 0)

    def _on_scanned(self, what: str, text: str) -> None:
        if self.app.current != "query" or self.way != "qr":
            return
        if what == "found":
            number = receipt_from_qr(text)
            if number is None:
                log.info("a QR code that is not a receipt was shown")
                self.problem = self._(NOT_OURS)
                self.app.speak(self.problem)
                self.way = ""
                return
            self.show(number)
        elif what == "camera":
            self.problem = self._("The camera is not available. Please type the receipt number instead.")
            self.way = "typed"
        elif what == "timeout":
            self.problem = self._("No QR code was found. Please hold the receipt flat under the camera, or type the number.")
            self.way = ""

    def stop_scan(self) -> None:
        self._scan_stop.set()
        try:
            self.app.terminal.release_camera()
        except Exception:
            log.exception("camera release failed")

    def reset(self) -> None:
        self.stop_scan()
        self.way = ""
        self.problem = ""
        self.ids.receipt_field.text = ""


SCREEN_CLASS = QueryScreen
load_kv("query")
