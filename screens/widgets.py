"""Shared widgets: big buttons, the header bar, the numeric keypad used for phone numbers."""
from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout

from screens.base import load_kv


class BigButton(Button):
    """A touch target of at least 64 dp (88 dp in elder mode)."""

    kind = StringProperty("primary")  # primary | secondary | danger


class TouchBlocker(FloatLayout):
    """An overlay that, while `active`, takes every touch: nothing underneath reacts while the kiosk is busy."""

    active = BooleanProperty(False)

    def on_touch_down(self, touch):
        if self.active:
            super().on_touch_down(touch)
            return True
        return False

    def on_touch_move(self, touch):
        if self.active:
            super().on_touch_move(touch)
            return True
        return False

    def on_touch_up(self, touch):
        if self.active:
            super().on_touch_up(touch)
            return True
        return False


class HeaderBar(BoxLayout):
    title = StringProperty("")


class NumericPad(GridLayout):
    """0–9, delete and clear, writing into `target` (a TextInput with keyboard_mode 'managed')."""

    target = ObjectProperty(None, allownone=True)
    max_length = 11

    def press(self, key: str) -> None:
        ti = self.target
        if ti is None:
            return
        if key == "del":
            ti.text = ti.text[:-1]
        elif key == "clear":
            ti.text = ""
        elif key.isdigit() and len(ti.text) < self.max_length:
            ti.text += key


load_kv("widgets")
