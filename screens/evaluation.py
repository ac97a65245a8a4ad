"""好差评: five faces with words. 满意 and better go straight into the outbox; the two lowest ask for a reason
first (evaluation_reason)."""
from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.citizen.evaluation import BAD_LEVELS, LEVELS
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import faces, voice_controls  # noqa: F401  (kv rules)
from screens.base import KioskScreen, load_kv

THANKS = N_("Thank you for your evaluation.")


class EvaluationScreen(KioskScreen):
    voice_prompt = N_("How satisfied are you with this service? Touch a face.")
    level = NumericProperty(0)
    subject = StringProperty("")
    problem = StringProperty("")

    def on_pre_enter(self, *args):
        self.level = 0
        self.problem = ""
        case = citizen_services(self.app).last_case or {}
        self.subject = case.get("item_name") or case.get("receipt_no") or case.get("request_no") or ""

    def words(self, level: int) -> str:
        return self._(dict(LEVELS)[level])

    def choose(self, level: int) -> None:
        self.level = level
        if level in BAD_LEVELS:
            self.app.screen("evaluation_reason").start(level)
            self.app.go("evaluation_reason")
        else:
            self.send(level)

    def send(self, level: int, detail_codes=(), text: str = "") -> None:
        """Into the outbox (durable), then thanks; the sender delivers it when the hub answers."""
        app = self.app
        svc = citizen_services(app)
        case = svc.last_case or {}
        ref = {"receipt_no": case["receipt_no"]} if case.get("receipt_no") else {"request_no": case.get("request_no")}

        def work():
            return svc.evaluation().submit(level, detail_codes=list(detail_codes), text=text, **ref)

        app.run_bg(work, self._sent, self._failed, busy_text=self._("Saving your evaluation…"))

    def _sent(self, key) -> None:
        app = self.app
        citizen_services(app).last_key = key
        app.end_session()
        app.notice = self._(THANKS)
        app.speak(app.notice)

    def _failed(self, error) -> None:
        self.problem = self._("Your evaluation could not be saved. Please try again or ask the staff.")

    def reset(self) -> None:
        self.level = 0
        self.subject = ""
        self.problem = ""


SCREEN_CLASS = EvaluationScreen
load_kv("evaluation")
