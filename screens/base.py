"""The screen base class: loads the screen's own `.kv` once, by absolute path, and gives access to the App."""
from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

_HERE = Path(__file__).parent
_loaded: set[str] = set()

# Kivy's TextInput keeps the rendered texture and the width of every line it drew, keyed by the line's text, for
# 60 s after last use (kivy/uix/textinput.py): the last citizen's name, number or address outlived their session.
TYPED_TEXT_CACHES = ("textinput.label", "textinput.width")


def forget_typed_text() -> None:
    """Drop what Kivy keeps of the text typed so far (called when a citizen's session is wiped)."""
    from kivy.cache import Cache

    for category in TYPED_TEXT_CACHES:
        Cache.remove(category)


def after_next_frame(callback) -> None:
    """Call `callback` on the clock tick after the window's next frame has been drawn."""
    from kivy.core.window import Window

    def flipped(*_):
        Window.unbind(on_flip=flipped)
        Clock.schedule_once(lambda dt: callback(), 0)

    Window.bind(on_flip=flipped)


def load_kv(name: str) -> None:
    if name not in _loaded:
        Builder.load_file(str(_HERE / f"{name}.kv"), encoding="utf-8")
        _loaded.add(name)


class KioskScreen(Screen):
    """One business step. Subclasses set `name` and keep their layout in `<name>.kv`."""

    voice_prompt = ""  # the main instruction, spoken on entering in elder mode (an N_-marked msgid)

    @property
    def app(self):
        return App.get_running_app()

    def _(self, message: str) -> str:
        return self.app.tr._(message)

    prompt_is_personal = False  # True where the spoken prompt carries the citizen's own data

    def spoken_prompt(self) -> str:
        """What elder mode says when this screen is shown, in the current language."""
        return self._(self.voice_prompt) if self.voice_prompt else ""

    def reset(self) -> None:
        """Forget whatever this screen shows about the last citizen."""
