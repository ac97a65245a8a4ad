"""A ScreenManager that builds each screen when it is first needed, so the app's first frame waits only for home.

`add_lazy(name, factory)` registers a screen without building it; `get_screen`/`has_screen` (and so `current = name`
and `app.screen(name)`) build it on first use. `prebuild()` then builds the rest one at a time from the clock,
while the kiosk idles on home, so a citizen's first journey does not pay for them either.

Screens registered with `transient=True` (the installer's: staff open them a few times a year) are not prebuilt:
each is built when shown, and all of them are released once a screen that is not transient is shown, so the kiosk
does not hold their widgets and label textures all day.
"""
from __future__ import annotations

import importlib
from typing import Callable

from kivy.clock import Clock
from kivy.uix.layout import Layout
from kivy.uix.recyclelayout import RecycleLayout
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.scrollview import ScrollView

from kiosk import memory
from screens.base import after_next_frame

PREBUILD_DELAY_S = 3.0  # after start: the first frames and the devices' start come first
PREBUILD_STEP_S = 0.1  # one screen per step, so a touch on home waits for at most one screen's build


class LazyScreenManager(ScreenManager):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._factories: dict[str, Callable] = {}
        self._transient: dict[str, Callable] = {}  # name → factory, for the screens released after leaving
        self._prebuild_event = None  # the prebuild's next step on the clock
        self.bind(current=self._on_current)

    def add_lazy(self, name: str, factory: Callable, transient: bool = False) -> None:
        """`factory(name=name)` makes the screen when it is first needed; `transient`: not prebuilt, and released
        once a screen that is not transient is shown (built again by `factory` the next time)."""
        if not super().has_screen(name):
            self._factories[name] = factory
            if transient:
                self._transient[name] = factory

    def add_lazy_module(self, name: str, module: str, transient: bool = False) -> None:
        """Like `add_lazy`, with the screen class `module.SCREEN_CLASS`: the module (and the .kv it loads) is
        imported only when the screen is built, so start-up parses home's rules, not every screen's."""

        def factory(**kwargs):
            return importlib.import_module(module).SCREEN_CLASS(**kwargs)

        self.add_lazy(name, factory, transient)

    def build(self, name: str) -> None:
        factory = self._factories.pop(name, None)
        if factory is not None:
            self.add_widget(factory(name=name))

    @property
    def unbuilt(self) -> list[str]:
        """The screens still to be built while the kiosk idles (transient ones are built only when shown)."""
        return [name for name in self._factories if name not in self._transient]

    def is_built(self, name: str) -> bool:
        return super().has_screen(name)

    def on_current(self, instance, value):
        # No cyclic collection inside a change: one that comes due while the next screen is prepared and drawn
        # waits until that frame is on the screen (kiosk.memory).
        memory.pause_collections()
        after_next_frame(memory.resume_collections)
        if value is not None and self.has_screen(value):
            fit(self.get_screen(value), self)
        super().on_current(instance, value)

    def _on_current(self, _sm, current: str) -> None:
        if current in self._transient:  # moving among them (the installer's screens) keeps each one's state
            return
        left = [s.name for s in self.screens if s.name in self._transient]
        if left:  # after this frame: the change itself, and the callbacks bound to it, still see the screen
            Clock.schedule_once(lambda dt: self._release(left), 0)

    def _release(self, names: list[str]) -> None:
        for name in names:
            if name == self.current or self.current in self._transient or not super().has_screen(name):
                continue
            screen = super().get_screen(name)
            self.remove_widget(screen)
            self._factories[name] = self._transient[name]

    def get_screen(self, name):
        self.build(name)
        return super().get_screen(name)

    def has_screen(self, name):
        return name in self._factories or super().has_screen(name)

    def prebuild(self, delay: float = PREBUILD_DELAY_S, step: float = PREBUILD_STEP_S, idle_on: str = "home") -> None:
        """Build the screens not built yet, one per clock step, starting after `delay` seconds, only while the
        `idle_on` screen is shown (nobody is using the kiosk; elsewhere a screen is built when it is shown)."""

        def one(_dt):
            pending = self.unbuilt  # the transient screens are not among them: they are built only when shown
            if pending and self.current != idle_on:
                self._prebuild_event = Clock.schedule_once(one, delay)
                return
            if pending:
                self.build(pending[0])
            if len(pending) > 1:
                self._prebuild_event = Clock.schedule_once(one, step)
            else:  # the screens live as long as the app: later collections need not walk them
                memory.freeze()

        self._prebuild_event = Clock.schedule_once(one, delay)

    def cancel_prebuild(self) -> None:
        """Build nothing more (the app is stopping: the screens' rules need a running app)."""
        if self._prebuild_event is not None:
            self._prebuild_event.cancel()


def fit(screen, manager) -> None:
    """Lay `screen` out at the manager's size now, before it is shown, if it never was. A screen that was never
    shown still has Kivy's default 100×100, and the manager sizes it only on the frame after the change: the texts
    its `on_pre_enter` sets were first drawn wrapped to a few pixels (an item's 办事指南: 37 ms at 20 px wide) and
    then again at their width. Layouts are laid out top-down; a list's own layout is left to the list."""
    if tuple(screen.size) == tuple(manager.size) and tuple(screen.pos) == tuple(manager.pos):
        return
    screen.pos, screen.size = manager.pos, manager.size
    for widget in screen.walk(restrict=True):
        if isinstance(widget, RecycleLayout):
            continue
        if isinstance(widget, Layout):
            widget.do_layout()
        elif isinstance(widget, ScrollView):
            widget.update_from_scroll()
