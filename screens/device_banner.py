"""Device trouble in words, before a citizen starts: a banner for the home screen (and the staff alarm when the hub
refuses this kiosk's token). The texts are shared with the out-of-service screen."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import N_
from screens.base import load_kv

PROBLEM_TEXT = {
    "reader_missing": N_("The ID card reader is not connected."),
    "reader_fault": N_("The ID card reader is not responding."),
    "camera_missing": N_("The document camera is not connected."),
    "paper_out": N_("The receipt printer is out of paper: receipts are shown on screen with a QR code."),
    "paper_near_end": N_("The receipt paper is running low."),
    "cover_open": N_("The receipt printer cover is open: receipts are shown on screen with a QR code."),
    "printer_offline": N_("The receipt printer is not available: receipts are shown on screen with a QR code."),
}


def problem_lines(app, problems) -> list[str]:
    return [app.tr._(PROBLEM_TEXT[p]) for p in problems if p in PROBLEM_TEXT]


class DeviceBanner(BoxLayout):
    """Shown only when something is wrong; nothing at all (zero height) otherwise."""

    text = StringProperty("")
    alarm = StringProperty("")

    def on_kv_post(self, base_widget):
        app = App.get_running_app()
        app.bind(device_problems=self._refresh, tr=self._refresh, staff_alarm=self._refresh)
        self._refresh()

    def _refresh(self, *_):
        app = App.get_running_app()
        self.text = "  ".join(problem_lines(app, app.device_problems))
        self.alarm = app.staff_alarm


load_kv("device_banner")
