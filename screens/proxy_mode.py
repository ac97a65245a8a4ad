"""Choose how the clerk helps (远程指导 / 上门辅助 / 全程代办), the contact phone and, for a visit, the address."""
from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.citizen.proxy import MODES, refusal_reason
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from kiosk.session import MOBILE_RE
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc


class ProxyModeScreen(KioskScreen):
    voice_prompt = N_("Choose how we should help you, then enter your mobile number.")
    mode = StringProperty("")
    item_name = StringProperty("")
    problem = StringProperty("")

    def on_kv_post(self, base_widget):
        self._attach_address_field()

    def _attach_address_field(self) -> None:
        try:
            from screens.keyboard import replace_with_keyboard_field
        except Exception:
            return
        replace_with_keyboard_field(self, "address", self._("Address for the home visit"), 80)
        self.bind(mode=lambda *a: self._show_address())
        self._show_address()

    def _show_address(self) -> None:
        field = self.ids.address
        field.opacity = 1 if self.mode == "home_visit" else 0
        field.disabled = self.mode != "home_visit"

    def on_pre_enter(self, *args):
        item = citizen_services(self.app).chosen or {}
        self.item_name = loc(item, "name", self.app.language)
        self.problem = ""
        if not self.ids.phone.text and self.app.session.phone:
            self.ids.phone.text = self.app.session.phone

    def modes(self):
        return MODES

    def choose(self, mode: str) -> None:
        self.mode = mode
        self.problem = ""

    def next(self) -> None:
        svc = citizen_services(self.app)
        item = svc.chosen or {}
        reason = refusal_reason(item)
        if reason:  # the list refuses these already; a stale choice must not slip through
            self.problem = reason
            return
        if not self.mode:
            self.problem = self._("Please choose how we should help you.")
        elif not MOBILE_RE.fullmatch(self.ids.phone.text):
            self.problem = self._("Please enter an 11-digit mobile number so the clerk can call you.")
        elif self.mode == "home_visit" and len(self.ids.address.text.strip()) < 6:
            self.problem = self._("Please enter the address for the visit: district, street and house number.")
        else:
            svc.proxy_form = {"mode": self.mode, "phone": self.ids.phone.text,
                              "address": self.ids.address.text.strip() if self.mode == "home_visit" else ""}
            if self.mode == "full_proxy":
                self.app.go("proxy_consent")
            else:
                self.app.screen("proxy_receipt").submit()

    def reset(self) -> None:
        self.mode = ""
        self.problem = ""
        self.ids.phone.text = ""
        self.ids.address.text = ""


SCREEN_CLASS = ProxyModeScreen
load_kv("proxy_mode")
