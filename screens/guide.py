"""办事指南: what the service is, what to bring, how long it takes, what it costs."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv


class GuideScreen(KioskScreen):
    voice_prompt = N_("Please read the service guide, then press Start.")
    title = StringProperty("")
    body = StringProperty("")

    def on_pre_enter(self, *args):
        s = self.app.session.service or {}
        self.title = s.get("name", "")
        lines = []
        if s.get("guide"):
            lines.append(s["guide"])
        lines.append(self._("Materials to scan:"))
        for m in s.get("materials", []):
            mark = "" if m.get("required", True) else self._(" (optional)")
            lines.append(f"  • {m['name']}{mark}")
        lines.append(self._("Promised time: {days} working days").format(days=s.get("promised_days", "—")))
        fee = s.get("fee") or self._("free of charge")
        lines.append(self._("Fee: {fee}").format(fee=fee))
        self.body = "\n".join(lines)

    def reset(self) -> None:
        self.title = ""
        self.body = ""


SCREEN_CLASS = GuideScreen
load_kv("guide")
