"""Shared widgets: labels that break Chinese lines properly, big buttons, the header bar, the numeric keypad used for phone numbers."""
from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from screens.base import load_kv
from screens.kinsoku import kinsoku_text


def wait_for_layout(label) -> bool:
    """Put off drawing `label`'s text, wrapped to its width, while a layout above it has yet to run (True: put off,
    drawn again right after that layout, in the same frame).

    A widget has Kivy's default width of 100 until its parent lays it out, and its text was wrapped to that width
    first: one or two characters a line, ~1,100 glyph measurements before home's first frame, thrown away when the
    real width arrived a moment later in the same frame."""
    widget, hops = label.parent, 0
    while widget is not None and hops < 64:
        trigger = getattr(widget, "_trigger_layout", None)
        if trigger is not None and trigger.is_triggered:
            label._trigger_texture()
            return True
        widget, hops = widget.parent, hops + 1
    return False


class DrawnWhenLaidOut:
    """Mixed into a Label or a Button: its text is drawn once the layouts above it have run (`wait_for_layout`).
    `texture_update` answers whether it drew."""

    def texture_update(self, *largs) -> bool:
        if self.text and wait_for_layout(self):
            return False
        super().texture_update(*largs)
        return True


class BoxedLabel(DrawnWhenLaidOut, Label):
    """A plain label whose text is boxed to its own size by its rule (`text_size: self.size`), drawn once laid out."""


class KLabel(DrawnWhenLaidOut, Label):
    """The screens' text: wrapped to its width, with no line that begins with a closing mark (screens.kinsoku)."""

    def texture_update(self, *largs) -> bool:
        if not super().texture_update(*largs):
            return False
        core = self._label
        if self.markup or self.text_size[0] is None or not core.text or self.texture is None:
            return True
        original = text = core.text
        for _ in range(3):  # a line moved down may push the next one's end over: look again, a few times
            fixed = kinsoku_text(text, [("".join(w.text for w in line.words), bool(line.line_wrap))
                                        for line in core._cached_lines])
            if fixed is None:
                break
            text = core.text = fixed
            core.refresh()
        if text is not original:
            core.text = original  # the next layout (a new width, a new size) starts from the label's own text
            self.texture = core.texture
            self.texture_size = list(core.texture.size)
        return True


class BigButton(DrawnWhenLaidOut, Button):
    """A touch target of at least 64 dp (88 dp in elder mode); its label wraps to its width too."""

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


class ProgressSweep(FloatLayout):
    """An indeterminate progress bar: a block sweeping left to right while `running`."""

    running = BooleanProperty(False)
    phase = NumericProperty(0.0)
    _anim = None

    def on_running(self, *_):
        if self._anim is not None:
            self._anim.cancel(self)
            self._anim = None
        if self.running:
            self.phase = 0.0
            self._anim = Animation(phase=1.0, duration=1.2) + Animation(phase=0.0, duration=0.0)
            self._anim.repeat = True
            self._anim.start(self)


class NavBar(BoxLayout):
    """The bottom row of every journey screen: 返回 (back), 结束办理 (end the session) and, where there is one, the
    next step. Screens bind `on_back` / `on_next`."""

    next_text = StringProperty("")  # "" = no next button
    next_disabled = BooleanProperty(False)
    show_back = BooleanProperty(True)
    __events__ = ("on_back", "on_next")

    def on_back(self, *_):
        pass

    def on_next(self, *_):
        pass


class NumericPad(GridLayout):
    """0–9, delete and clear, writing into `target` (a TextInput with keyboard_mode 'managed')."""

    target = ObjectProperty(None, allownone=True)
    max_length = 11

    def press(self, key: str) -> None:
        ti = self.target
        if ti is None:
            return
        limit = getattr(ti, "max_digits", self.max_length)
        if key == "del":
            ti.text = ti.text[:-1].rstrip("-") if getattr(ti, "allow_dash", False) else ti.text[:-1]
        elif key == "clear":
            ti.text = ""
        elif key.isdigit() and len(ti.text) < limit:
            text = ti.text + key
            if getattr(ti, "allow_dash", False) and len(text) in (4, 7):
                text += "-"  # a date typed as digits: YYYY-MM-DD
            ti.text = text


load_kv("widgets")
