"""Widgets of the counter: the clerk bar, the 培训 watermark, a queue row with its SLA bar, the PIN pad. The finger
signature pad is the kiosk's (screens/signature_pad.py)."""
from __future__ import annotations

from kivy.properties import DictProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from screens.widgets import BigButton


class CounterClerkBar(BoxLayout):
    pass


class CounterTrainingWatermark(FloatLayout):
    """Over every screen while training: 培训, and it lets every touch through."""

    def on_touch_down(self, touch):
        return False

    def on_touch_move(self, touch):
        return False

    def on_touch_up(self, touch):
        return False


class CounterSlaBar(Widget):
    share = NumericProperty(0.0)  # of the promised time used
    level = StringProperty("ok")  # ok | amber | red


class CounterQueueRow(BigButton):
    request = DictProperty({})
    share = NumericProperty(0.0)
    level = StringProperty("ok")
    marks = StringProperty("")


class CounterPinPad(BoxLayout):
    """0–9, delete and clear for the clerk's PIN (at most 8 digits), writing into `target`."""

    from kivy.properties import ObjectProperty as _ObjectProperty

    target = _ObjectProperty(None, allownone=True)
    max_length = 8

    def press(self, key: str) -> None:
        ti = self.target
        if ti is None:
            return
        if key == "del":
            ti.text = ti.text[:-1]
        elif key == "clear":
            ti.text = ""
        elif key.isdigit() and len(ti.text) < self.max_length:
            ti.text = ti.text + key
