"""A-Z letter pad writing into a text field: pinyin and initials search when the Chinese keyboard is absent."""
from __future__ import annotations

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from screens.base import load_kv
from screens.widgets import BigButton

ROWS = "qwertyuiop" "asdfghjkl" "zxcvbnm"


class LetterPad(GridLayout):
    target = ObjectProperty(None, allownone=True)
    keys = StringProperty(ROWS)  # one key per character

    def on_kv_post(self, base_widget):
        self._build()

    def on_keys(self, *_):
        self._build()

    def _build(self) -> None:
        self.clear_widgets()
        for ch in self.keys:
            key = BigButton(text=ch, kind="secondary")
            key.bind(on_release=lambda b, c=ch: self.press(c))
            self.add_widget(key)
        from kivy.app import App

        tr = App.get_running_app().tr
        for special in ("del", "clear"):
            key = BigButton(text=tr._("Delete") if special == "del" else tr._("Clear"), kind="secondary")
            key.bind(on_release=lambda b, c=special: self.press(c))
            key.key_name = special
            self.add_widget(key)

    def press(self, key: str) -> None:
        ti = self.target
        if ti is None:
            return
        if key == "del":
            ti.text = ti.text[:-1]
        elif key == "clear":
            ti.text = ""
        elif len(ti.text) < 40:
            ti.text += key


load_kv("letter_pad")
