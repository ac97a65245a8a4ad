"""Log in: place the resident ID card on the reader. Expired cards are refused with the reason."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from kiosk.session import CardRefused
from screens.base import KioskScreen, load_kv


class IdLoginScreen(KioskScreen):
    voice_prompt = N_("Please place your ID card on the reader")
    problem = StringProperty("")

    def on_enter(self, *args):
        self.problem = ""

    def reset(self) -> None:
        self.problem = ""

    def card_placed(self, card) -> None:
        data = card.to_dict() if hasattr(card, "to_dict") else dict(card)
        try:
            self.app.session.login(data)
        except CardRefused as refused:
            if refused.reason == "expired":
                self.problem = self._(
                    "This ID card expired on {date}. It cannot be used here: please renew it at the public security service window, or ask the staff for help."
                ).format(date=data.get("valid_to"))
            else:
                self.problem = self._("This card could not be verified. Please ask the staff for help.")
            self.app.speak(self.problem, personal=True)
            return
        self.app.screen("service_list").load()
        self.app.go("service_list")


SCREEN_CLASS = IdLoginScreen
load_kv("id_login")
