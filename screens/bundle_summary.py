"""一件事: what the answers decided — the services, one combined list of materials and one form — then one
submission through the usual steps (form, scan, confirm, receipt); the platform records it as a bundle."""
from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.bundles import as_service, plan
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc


class BundleSummaryScreen(KioskScreen):
    voice_prompt = N_("These are the services and materials for your situation. Press Start to apply for all of them at once.")
    title = StringProperty("")
    body = StringProperty("")
    warning = StringProperty("")

    def show(self, bundle: dict, answers: dict) -> None:
        self._bundle, self._answers = bundle, answers
        self.refresh()

    def on_pre_enter(self, *args):
        self.refresh()

    def refresh(self) -> None:
        bundle = getattr(self, "_bundle", None)
        if not bundle:
            return
        lang = self.app.language
        catalog = citizen_services(self.app).by_code()
        p = plan(bundle, self._answers, catalog)
        self.title = loc(bundle, "name", lang)
        lines = [self._("Services handled together ({n}):").format(n=len(p["items"]))]
        lines += [f"  • {loc(i, 'name', lang)} — {loc(i, 'department', lang)}" for i in p["items"]]
        lines += ["", self._("Materials to bring and scan, once for all ({n}):").format(n=len(p["materials"]))]
        for m in p["materials"]:
            note = loc(m, "note", lang)
            lines.append(f"  • {loc(m, 'name', lang)}" + (f" ({note})" if note else ""))
        if p["form_fields"]:
            lines += ["", self._("One form with {n} question(s).").format(n=len(p["form_fields"]))]
        lines += ["", self._("Finished within {days} working days.").format(days=p["promised_days"])]
        self.body = "\n".join(lines)
        self.warning = ""
        if p["in_person_required"]:
            person = next(i for i in p["items"] if i.get("in_person_required"))
            self.warning = self._("{name} needs you in person: {reason}. Please go to {place}.").format(
                name=loc(person, "name", lang), reason=loc(person, "in_person_reason", lang),
                place=loc(person, "place", lang))

    def begin(self) -> None:
        catalog = citizen_services(self.app).by_code()
        self.app.session.choose_service(as_service(self._bundle, self._answers, catalog))
        self.app.go("guide")

    def reset(self) -> None:
        self._bundle, self._answers = None, {}
        self.title = self.body = self.warning = ""


SCREEN_CLASS = BundleSummaryScreen
load_kv("bundle_summary")
