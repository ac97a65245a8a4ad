"""Widgets of the counter: the clerk bar, the 培训 watermark, a queue row with its SLA bar, and a finger
signature pad (used when the shared one is not there)."""
from __future__ import annotations

import io

from kivy.graphics import Color, Line
from kivy.properties import DictProperty, ListProperty, NumericProperty, StringProperty
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


class CounterSignaturePad(Widget):
    """Sign with a finger: strokes are kept as point lists and drawn; `png_bytes()` exports black on white."""

    strokes = ListProperty([])

    def on_touch_down(self, touch):
        if not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        with self.canvas:
            Color(0.05, 0.05, 0.1, 1)
            touch.ud["sig_line"] = Line(points=[*touch.pos], width=2.2)
        self.strokes = self.strokes + [[tuple(touch.pos)]]
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self or "sig_line" not in touch.ud:
            return False
        touch.ud["sig_line"].points += [*touch.pos]
        self.strokes[-1].append(tuple(touch.pos))
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            touch.ungrab(self)
            return True
        return False

    def clear(self) -> None:
        self.canvas.clear()
        self.strokes = []

    @property
    def signed(self) -> bool:
        """A signature, not a tap: enough ink to be a mark."""
        points = sum(len(s) for s in self.strokes)
        return points >= 8 or (len(self.strokes) >= 2 and points >= 4)

    def png_bytes(self) -> bytes:
        """The strokes drawn with Pillow onto white, independent of the screen's scale."""
        from PIL import Image, ImageDraw

        w, h = max(1, int(self.width)), max(1, int(self.height))
        img = Image.new("L", (w, h), 255)
        draw = ImageDraw.Draw(img)
        for stroke in self.strokes:
            pts = [(x - self.x, h - (y - self.y)) for x, y in stroke]
            if len(pts) == 1:
                pts = pts * 2
            draw.line(pts, fill=0, width=4, joint="curve")
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()


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
