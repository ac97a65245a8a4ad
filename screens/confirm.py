"""Check and submit. The case is kept in the local outbox before anything is sent; a hub that does not answer can
be left behind with one press (the receipt then says 待上传 and the kiosk sends the case later)."""
import threading

from kivy.properties import StringProperty

from kiosk import form_fields
from kiosk.i18n import N_
from kiosk.privacy.masking import mask_address
from screens.base import KioskScreen, load_kv
from screens.guide import localized


class ConfirmScreen(KioskScreen):
    voice_prompt = N_("Please check your application, then press Submit.")
    summary = StringProperty("")
    problem = StringProperty("")
    _give_up = None

    def on_pre_enter(self, *args):
        s = self.app.session
        lang = self.app.language
        service = s.service or {}
        delivery = self.app.screen("form").delivery_label(s.delivery)
        if s.delivery == "邮寄":
            delivery += f" — {mask_address(s.mailing_address) or ''}"
        lines = [
            self._("Service: {value}").format(value=localized(service, "name", lang)),
            self._("Name: {value}").format(value=s.greeting_name(lang)),
            self._("ID number: {value}").format(value=s.display_id_number),
            self._("Mobile phone: {value}").format(value=s.display_phone),
            self._("Result delivery: {value}").format(value=delivery),
        ]
        for field in s.form_fields:
            value = form_fields.normalise(field, s.form.get(field["key"]))
            if not value:
                continue
            if field.get("type") == "choice":
                value = dict(form_fields.choice_labels(field, lang)).get(value, value)
            elif field.get("type") == "address":
                value = mask_address(value) or value
            elif field.get("type") == "digits" and len(value) > 8:
                value = value[:4] + "*" * (len(value) - 8) + value[-4:]  # an account number: shown masked
            lines.append(self._("{label}: {value}").format(label=form_fields.label(field, lang), value=value))
        lines.append(self._("Materials:"))
        for m in s.materials:
            if m.pages:
                lines.append("  • " + self._("{name}: {pages} page(s)").format(name=m.display_name(lang), pages=len(m.pages)))
        self.summary = "\n".join(lines)
        self.problem = ""

    def reset(self) -> None:
        self.summary = ""
        self.problem = ""

    def submit(self) -> None:
        give_up = threading.Event()
        self._give_up = give_up
        self.problem = ""
        self.app.run_bg(lambda: self.app.terminal.submit(self.app.session, give_up=give_up), self._done, self._failed,
                        busy_text=self._("Submitting and printing your receipt…"),
                        on_cancel=lambda: self._stop_waiting(give_up), cancel_text=self._("Don't wait for the server"),
                        cancel_keeps_task=True)

    def _stop_waiting(self, give_up) -> None:
        """The citizen does not wait for the hub: the case is safe in the outbox; the receipt comes at once (待上传)."""
        give_up.set()
        self.app.busy_text = self._("Printing your receipt…")

    def _done(self, result) -> None:
        self.app.last_result = result
        self.app.go("receipt")

    def _failed(self, exc) -> None:
        code = getattr(exc, "message_id", "")
        if code == "card_removed":
            self.problem = self._("Your ID card is not on the reader. Please put it back, then press Submit again.")
        elif code == "session_incomplete":
            self.problem = self._("Something is missing in your application. Please go back and complete it.")
        else:
            self.problem = self._("Your application could not be saved. Please ask the staff for help.")
        self.app.speak(self.problem)


SCREEN_CLASS = ConfirmScreen
load_kv("confirm")
