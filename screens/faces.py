"""Five faces for 好差评, drawn (no emoji font is needed): the mouth curves from a frown (1) to a smile (5)."""
from __future__ import annotations

from kivy.graphics import Color, SmoothEllipse, SmoothLine
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.widget import Widget

FACE_COLOURS = {5: (0.05, 0.50, 0.25), 4: (0.25, 0.55, 0.20), 3: (0.75, 0.55, 0.05), 2: (0.80, 0.35, 0.10),
                1: (0.70, 0.10, 0.10)}


class Face(ButtonBehavior, Widget):
    level = NumericProperty(3)
    selected = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, level=self._draw, selected=self._draw, state=self._draw)

    def _draw(self, *_):
        self.canvas.clear()
        d = min(self.width, self.height) * 0.9
        cx, cy = self.center
        r, g, b = FACE_COLOURS.get(int(self.level), (0.5, 0.5, 0.5))
        with self.canvas:
            if self.selected or self.state == "down":
                Color(r, g, b, 0.25)
                SmoothEllipse(pos=(cx - d / 2 - 8, cy - d / 2 - 8), size=(d + 16, d + 16))
            Color(r, g, b, 1)
            SmoothLine(circle=(cx, cy, d / 2), width=3 if self.selected else 2)
            eye = d * 0.07
            SmoothEllipse(pos=(cx - d * 0.18 - eye / 2, cy + d * 0.12 - eye / 2), size=(eye, eye))
            SmoothEllipse(pos=(cx + d * 0.18 - eye / 2, cy + d * 0.12 - eye / 2), size=(eye, eye))
            # Mouth: a curve whose middle rises with the level (a frown at 1, flat at 3, a smile at 5).
            bend = (int(self.level) - 3) * d * 0.07
            w = d * 0.25
            base = cy - d * 0.18
            points = []
            for i in range(9):
                t = i / 8
                x = cx - w + 2 * w * t
                y = base - bend * (1 - (2 * t - 1) ** 2)
                points += [x, y]
            SmoothLine(points=points, width=3 if self.selected else 2)
