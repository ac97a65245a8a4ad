"""差评: what went wrong, from a list or in words; without a reason it is not sent (the rule of 好差评)."""
from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, StringProperty

from kiosk.citizen.evaluation import REASONS
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.widgets import BigButton


class EvaluationReasonScreen(KioskScreen):
    voice_prompt = N_("Please tell us what went wrong: choose a reason or write a few words.")
    level = NumericProperty(1)
    chosen = ListProperty([])
    problem = StringProperty("")

    def on_kv_post(self, base_widget):
        box = self.ids.reasons
        for code, words in REASONS:
            b = BigButton(kind="secondary")
            b.reason_code = code
            b.msgid = words
            b.bind(on_release=lambda btn: self.toggle(btn.reason_code))
            box.add_widget(b)
        self._attach_text_field()
        self._label_reasons()

    def _attach_text_field(self) -> None:
        try:
            from screens.keyboard import replace_with_keyboard_field
        except Exception:
            return
        replace_with_keyboard_field(self, "words", self._("In your own words (optional)"), 100)

    def _label_reasons(self) -> None:
        for b in self.ids.reasons.children:
            b.text = ("√ " if b.reason_code in self.chosen else "") + self._(b.msgid)
            b.kind = "primary" if b.reason_code in self.chosen else "secondary"

    def start(self, level: int) -> None:
        self.level = level
        self.chosen = []
        self.problem = ""
        self.ids.words.text = ""
        self._label_reasons()

    def on_pre_enter(self, *args):
        self._label_reasons()

    def toggle(self, code: str) -> None:
        self.chosen = [c for c in self.chosen if c != code] if code in self.chosen else self.chosen + [code]
        self.problem = ""
        self._label_reasons()

    def send(self) -> None:
        text = self.ids.words.text.strip()
        if not self.chosen and not text:
            self.problem = self._("Please choose at least one reason or write a few words, so the department can put it right.")
            self.app.speak(self.problem)
            return
        self.app.screen("evaluation").send(self.level, self.chosen, text)

    def reset(self) -> None:
        self.chosen = []
        self.problem = ""
        self.ids.words.text = ""


SCREEN_CLASS = EvaluationReasonScreen
load_kv("evaluation_reason")
