"""Log in: place the resident ID card on the reader. Expired cards are refused with the reason; a card already
lying on the reader is read at once; an unreadable card or a missing reader is said in words."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from kiosk.session import CardRefused
from screens.base import KioskScreen, load_kv

READER_PROBLEMS = {
    "no_device": N_("The card reader is not connected. Please ask the staff for help, or use a staffed service window."),
    "offline": N_("The card reader is not responding. Please ask the staff for help, or use a staffed service window."),
    "hardware_error": N_("The card reader reports a fault. Please ask the staff for help, or use a staffed service window."),
}


class IdLoginScreen(KioskScreen):
    voice_prompt = N_("Please place your ID card on the reader")
    problem = StringProperty("")

    def on_enter(self, *args):
        self.problem = ""
        card = self.app.card_on_reader()
        if card:
            self.card_placed(card)
        elif card is False:
            self.say(self._("Your card has already been read once. Please lift it off the reader and place it again."))
        else:
            self.reader_changed()

    def reset(self) -> None:
        self.problem = ""

    def say(self, text: str, personal: bool = False) -> None:
        self.problem = text
        self.app.speak(text, personal=personal)

    def reader_changed(self) -> None:
        status = self.app.terminal.card_reader_status
        message = READER_PROBLEMS.get(status)
        if message:
            self.say(self._(message))
        elif any(self.problem == self._(m) for m in READER_PROBLEMS.values()):
            self.problem = ""

    def card_unreadable(self, error) -> None:
        self.say(self._("The card could not be read. Lift it off, then place it flat in the marked area and keep it still."))

    def card_placed(self, card) -> None:
        data = card.to_dict() if hasattr(card, "to_dict") else dict(card)
        try:
            self.app.session.login(data)
        except CardRefused as refused:
            if refused.reason == "expired":
                self.say(self._(
                    "This ID card expired on {date}. It cannot be used here: please renew it at the public security service window, or ask the staff for help."
                ).format(date=data.get("valid_to")), personal=True)
            else:
                self.say(self._("This card could not be verified. Please ask the staff for help."), personal=True)
            return
        self.problem = ""
        self.app.screen("service_list").load()
        self.app.go("service_list")


SCREEN_CLASS = IdLoginScreen
load_kv("id_login")
