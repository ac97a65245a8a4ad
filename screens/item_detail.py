"""The full 办事指南 of one item, readable without a card: department, conditions, time limits (法定/承诺, 即办件 or
承诺件), fee, materials with originals/copies and review points, place, hours, phone. It says up front when the
person must come, when this kiosk cannot take the item (and where to go), and — in the 代办 journey — why an
item cannot be proxied and where the nearest window is."""
from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc


class ItemDetailScreen(KioskScreen):
    voice_prompt = N_("This is the service guide. Please read what to bring.")
    title = StringProperty("")
    body = StringProperty("")
    warning = StringProperty("")
    can_apply = BooleanProperty(False)
    can_proxy = BooleanProperty(False)

    def on_pre_enter(self, *args):
        self.refresh()

    def spoken_prompt(self) -> str:
        return self.warning or self._(self.voice_prompt)

    def refresh(self) -> None:
        svc = citizen_services(self.app)
        item = svc.chosen or {}
        lang = self.app.language
        self.title = loc(item, "name", lang)
        self.body = guide_text(item, lang, self._)
        handled = svc.handled_here(item)
        place = loc(item, "place", lang)
        hours = loc(item, "hours", lang)
        warning = ""
        if svc.mode == "proxy" and (item.get("in_person_required") or not item.get("proxy_allowed")
                                    or item.get("kind") == "bundle"):
            reason = loc(item, "in_person_reason", lang) or self._("this service is not open to proxy handling")
            warning = self._("This service cannot be handled for you by proxy: {reason}. The nearest window: {place}, {hours}."
                             ).format(reason=reason, place=place, hours=hours)
        elif item.get("in_person_required"):
            warning = self._("You must come in person: {reason}. Please go to {place}, {hours}.").format(
                reason=loc(item, "in_person_reason", lang), place=place, hours=hours)
        elif not handled:
            warning = self._("This kiosk cannot take this application. Please go to {place}, {hours}, phone {phone}.").format(
                place=place, hours=hours, phone=item.get("phone", ""))
        self.warning = warning
        self.can_apply = handled and svc.mode == "browse" and self.app.role == "citizen"
        self.can_proxy = (svc.mode == "browse" and bool(item.get("proxy_allowed")) and not item.get("in_person_required")
                          and item.get("kind") != "bundle")

    def back(self) -> None:
        self.app.go(citizen_services(self.app).back_to or "service_list")

    def apply_now(self) -> None:
        """Start with the ID card; after it is read, this item opens directly."""
        svc = citizen_services(self.app)
        svc.mode = "apply"
        svc.pending_item = svc.chosen  # set first: a card already on the reader logs in at once
        self.app.start_session()

    def ask_proxy(self) -> None:
        svc = citizen_services(self.app)
        svc.mode = "proxy"
        svc.proxy_item = svc.chosen
        self.app.go("proxy_intro")

    def reset(self) -> None:
        self.title = self.body = self.warning = ""


def guide_text(item: dict, lang: str, _) -> str:
    """The 办事指南 as lines of text, in the screen's language."""
    if not item:
        return ""
    lines = [_("Department: {value}").format(value=loc(item, "department", lang))]
    if item.get("type"):
        lines.append(_("Kind: {kind}, {case_kind}").format(kind=loc(item, "type", lang), case_kind=loc(item, "case_kind", lang)))
    if item.get("guide"):
        lines += ["", loc(item, "guide", lang)]
    if item.get("limit_text"):
        lines += ["", _("Time limit: {text}").format(text=loc(item, "limit_text", lang))]
    else:
        lines += ["", _("Promised time: {days} working days").format(days=item.get("promised_days", "—"))]
    lines.append(_("Fee: {fee}").format(fee=loc(item, "fee", lang) or _("free of charge")))
    if item.get("kind") == "bundle":
        lines += ["", _("Answer a few questions: they decide which services and materials you need.")]
    else:
        lines += ["", _("Materials:")]
        for m in item.get("materials", []):
            counts = _("{o} original(s), {c} copy(ies)").format(o=m.get("originals", 1), c=m.get("copies", 0))
            note = loc(m, "note", lang)
            lines.append(f"  • {loc(m, 'name', lang)} — {counts}" + (f"; {note}" if note else ""))
    delivery = {"自取": _("collect in person"), "邮寄": _("by post"), "网点代发": _("hand-out at the outlet")}
    if item.get("delivery"):
        lines.append(_("Results: {ways}").format(ways=", ".join(delivery.get(d, d) for d in item["delivery"])))
    if item.get("place"):
        lines += ["", _("Where: {place}").format(place=loc(item, "place", lang)),
                  _("When: {hours}").format(hours=loc(item, "hours", lang)),
                  _("Phone: {phone}; complaints: {supervision}").format(phone=item.get("phone", ""),
                                                                      supervision=item.get("supervision_phone", "12345"))]
    lines.append(_("Proxy help (代办): {answer}").format(
        answer=_("available, free of charge") if item.get("proxy_allowed") and not item.get("in_person_required") else _("not available")))
    if item.get("illustrative"):
        lines += ["", _("(Illustrative catalog: codes, limits, places and phone numbers are examples.)")]
    return "\n".join(lines)


SCREEN_CLASS = ItemDetailScreen
load_kv("item_detail")
