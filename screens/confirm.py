"""Check and submit. The case is kept in the local outbox before anything is sent."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv


class ConfirmScreen(KioskScreen):
    voice_prompt = N_("Please check your application, then press Submit.")
    summary = StringProperty("")
    problem = StringProperty("")

    def on_pre_enter(self, *args):
        s = self.app.session
        lines = [
            self._("Service: {value}").format(value=(s.service or {}).get("name", "")),
            self._("Name: {value}").format(value=s.display_name),
            self._("ID number: {value}").format(value=s.display_id_number),
            self._("Mobile phone: {value}").format(value=s.display_phone),
            self._("Result delivery: {value}").format(value=self.app.screen("form").delivery_label(s.delivery)),
            self._("Materials:"),
        ]
        for m in s.materials:
            if m.document is not None:
                lines.append("  • " + self._("{name}: {pages} page(s)").format(name=m.name, pages=max(1, len(m.pages))))
        self.summary = "\n".join(lines)
        self.problem = ""

    def reset(self) -> None:
        self.summary = ""
        self.problem = ""

    def submit(self) -> None:
        self.app.run_bg(lambda: self.app.terminal.submit(self.app.session), self._done, self._failed,
                        busy_text=self._("Submitting and printing your receipt…"))

    def _done(self, result) -> None:
        self.app.last_result = result
        self.app.go("receipt")

    def _failed(self, exc) -> None:
        self.problem = self._("Your application could not be saved. Please ask the staff for help.")


SCREEN_CLASS = ConfirmScreen
load_kv("confirm")
