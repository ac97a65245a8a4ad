"""一件事: the questionnaire (情形), one question per screen; the answers decide the services and materials."""
from __future__ import annotations

from kivy.properties import DictProperty, NumericProperty, StringProperty

from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc
from screens.widgets import BigButton


class BundleQuestionsScreen(KioskScreen):
    voice_prompt = N_("Please answer the question.")
    bundle = DictProperty({})
    index = NumericProperty(0)
    question = StringProperty("")
    progress = StringProperty("")
    title = StringProperty("")

    def start(self, bundle: dict) -> None:
        self.bundle = dict(bundle)
        self.answers: dict[str, str] = {}
        self.index = 0

    def spoken_prompt(self) -> str:
        return self.question or self._(self.voice_prompt)

    def on_pre_enter(self, *args):
        self.show()

    def show(self) -> None:
        questions = self.bundle.get("questions") or []
        if not questions:
            return
        lang = self.app.language
        q = questions[self.index]
        self.title = loc(self.bundle, "name", lang)
        self.question = loc(q, "text", lang)
        self.progress = self._("Question {n} of {total}").format(n=self.index + 1, total=len(questions))
        box = self.ids.options
        box.clear_widgets()
        for opt in q["options"]:
            chosen = getattr(self, "answers", {}).get(q["key"]) == opt["value"]
            b = BigButton(text=loc(opt, "label", lang), kind="primary" if chosen else "secondary")
            b.option_value = opt["value"]
            b.bind(on_release=lambda btn, q=q: self.answer(q["key"], btn.option_value))
            box.add_widget(b)

    def answer(self, key: str, value: str) -> None:
        self.answers[key] = value
        questions = self.bundle.get("questions") or []
        if self.index + 1 < len(questions):
            self.index += 1
            self.show()
            self.app.speak_screen()
        else:
            self.app.screen("bundle_summary").show(self.bundle, dict(self.answers))
            self.app.go("bundle_summary")

    def back(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.show()
        else:
            self.app.go("service_list")

    def reset(self) -> None:
        self.bundle = {}
        self.answers = {}
        self.index = 0
        self.question = self.progress = self.title = ""


SCREEN_CLASS = BundleQuestionsScreen
load_kv("bundle_questions")
