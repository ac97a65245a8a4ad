"""The hidden way into the installer screens: five taps in the home screen's top-right corner within four seconds
open the PIN pad. Citizens never meet it by chance; the touches still reach the home screen as usual."""
from __future__ import annotations

import time
from typing import Callable

from kivy.metrics import dp

TAPS = 5
WINDOW_S = 4.0
CORNER_DP = 120


class CornerTaps:
    def __init__(self, on_trigger: Callable[[], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.on_trigger = on_trigger
        self.clock = clock
        self.taps: list[float] = []

    def in_corner(self, widget, x: float, y: float) -> bool:
        size = dp(CORNER_DP)
        return x >= widget.right - size and y >= widget.top - size

    def touch(self, widget, touch) -> None:
        if not self.in_corner(widget, *touch.pos):
            self.taps.clear()
            return
        now = self.clock()
        self.taps = [t for t in self.taps if now - t <= WINDOW_S] + [now]
        if len(self.taps) >= TAPS:
            self.taps.clear()
            self.on_trigger()


def attach(widget, on_trigger: Callable[[], None]) -> CornerTaps:
    """Watch `widget`'s touches (without taking them) for the hidden gesture."""
    taps = CornerTaps(on_trigger)

    def down(w, touch):
        taps.touch(w, touch)
        return False  # the home screen still gets the touch

    widget.bind(on_touch_down=down)
    return taps
