"""A signature pad: the citizen signs the 委托书 with a finger. Strokes are kept as points and drawn on screen;
`png()` renders them black on white with Pillow (the same picture on any GPU, and small)."""
from __future__ import annotations

from kivy.graphics import Color, SmoothLine
from kivy.properties import NumericProperty
from kivy.uix.widget import Widget

from kiosk.citizen.proxy import signature_png
from screens.base import load_kv

MIN_POINTS = 12  # a tap or a dot is not a signature


class SignaturePad(Widget):
    points = NumericProperty(0)  # points drawn so far (the screen enables Confirm from it)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.strokes: list[list[tuple[float, float]]] = []
        self._line = None

    def on_touch_down(self, touch):
        if not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        self.strokes.append([self._local(touch)])
        with self.canvas:
            Color(0.05, 0.05, 0.1, 1)
            self._line = SmoothLine(points=list(touch.pos), width=2.2)
        self.points += 1
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self or self._line is None:
            return False
        if self.collide_point(*touch.pos):
            self.strokes[-1].append(self._local(touch))
            self._line.points += list(touch.pos)
            self.points += 1
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            touch.ungrab(self)
            self._line = None
            return True
        return False

    def _local(self, touch) -> tuple[float, float]:
        return touch.x - self.x, touch.y - self.y

    def clear(self) -> None:
        self.strokes = []
        self.points = 0
        self.canvas.clear()

    def draw_strokes(self, strokes: list[list[tuple[float, float]]]) -> None:
        """Draw strokes given in the pad's own coordinates (the scripted tour's finger)."""
        for stroke in strokes:
            self.strokes.append(list(stroke))
            with self.canvas:
                Color(0.05, 0.05, 0.1, 1)
                SmoothLine(points=[v for x, y in stroke for v in (x + self.x, y + self.y)], width=2.2)
            self.points += len(stroke)

    @property
    def signed(self) -> bool:
        return self.points >= MIN_POINTS

    def png(self) -> bytes:
        return signature_png(self.strokes, (self.width, self.height))


load_kv("signature_pad")
