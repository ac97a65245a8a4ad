"""办事指南: what the service is, what to bring, how long it takes, what it costs (in English from the catalog's
English fields in English mode)."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv


def localized(item: dict, key: str, language: str) -> str:
    """`item[key + "_en"]` in English mode when the catalog has it, else `item[key]`."""
    if language == "en" and item.get(f"{key}_en"):
        return str(item[f"{key}_en"])
    value = item.get(key)
    return "" if value is None else str(value)


class GuideScreen(KioskScreen):
    voice_prompt = N_("Please read the service guide, then press Start.")
    title = StringProperty("")
    body = StringProperty("")

    def on_pre_enter(self, *args):
        self.refresh()

    def on_language(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        s = self.app.session.service or {}
        lang = self.app.language
        self.title = localized(s, "name", lang)
        lines = []
        if s.get("department"):
            lines.append(self._("Department: {value}").format(value=localized(s, "department", lang)))
        if s.get("guide"):
            lines.append(localized(s, "guide", lang))
        lines.append("")
        lines.append(self._("Materials to scan:"))
        for m in s.get("materials", []):
            mark = "" if m.get("required", True) else self._(" (optional)")
            pages = int(m.get("pages") or 1)
            note = localized(m, "note", lang)
            count = self._("{n} page(s)").format(n=pages) + (f", {note}" if note else "")
            lines.append(f"  • {localized(m, 'name', lang)}{mark} — {count}")
        lines.append("")
        lines.append(self._("Promised time: {days} working days").format(days=s.get("promised_days", "—")))
        fee = localized(s, "fee", lang) or self._("free of charge")
        lines.append(self._("Fee: {fee}").format(fee=fee))
        self.body = "\n".join(lines)

    def reset(self) -> None:
        self.title = ""
        self.body = ""


SCREEN_CLASS = GuideScreen
load_kv("guide")
