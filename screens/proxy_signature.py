"""The citizen signs the 委托书 with a finger; Confirm sends the request and the signed 委托书 to the hub."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from screens import signature_pad, voice_controls  # noqa: F401  (kv rules)
from screens.base import KioskScreen, load_kv


class ProxySignatureScreen(KioskScreen):
    voice_prompt = N_("Please sign with your finger in the box, then press Confirm.")
    problem = StringProperty("")

    def on_pre_enter(self, *args):
        self.problem = ""

    def confirm(self) -> None:
        pad = self.ids.pad
        if not pad.signed:
            self.problem = self._("Please sign in the box with your finger first.")
            return
        self.app.screen("proxy_receipt").submit(signature=pad.png())

    def reset(self) -> None:
        self.problem = ""
        self.ids.pad.clear()


SCREEN_CLASS = ProxySignatureScreen
load_kv("proxy_signature")
