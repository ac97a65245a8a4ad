"""Drive the real app frame by frame with synthetic touches: used by `kiosk tour` and the UI tests.

Touches go through Kivy's input pipeline (`FingerTouch` posts to the event loop), exactly like a finger,
so a button that is hidden, disabled or covered by an overlay does not react.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from kivy.base import EventLoop, runTouchApp
from kivy.input.motionevent import MotionEvent


class FingerTouch(MotionEvent):
    """One finger at window pixel (x, y), posted to the event loop as a touch provider would post it.

    The same as Kivy's `kivy.tests.common.UnitTestTouch`, kept here because that module imports pytest and its
    plugins (about 10 MB, 180 modules) into the process the tour and the UI benchmark measure, and a kiosk has no
    pytest in it."""

    def __init__(self, x: float, y: float) -> None:
        win = EventLoop.window
        super().__init__(device="FingerTouch", id=99, args={"x": x / (win.width - 1.0), "y": y / (win.height - 1.0)},
                         is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def touch_down(self) -> None:
        EventLoop.post_dispatch_input("begin", self)

    def touch_move(self, x: float, y: float) -> None:
        win = EventLoop.window
        self.move({"x": x / (win.width - 1.0), "y": y / (win.height - 1.0)})
        EventLoop.post_dispatch_input("update", self)

    def touch_up(self) -> None:
        EventLoop.post_dispatch_input("end", self)

    def depack(self, args) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


class DriverError(AssertionError):
    pass


class AppDriver:
    def __init__(self, app) -> None:
        self.app = app
        self.started = False

    def start(self) -> None:
        self.app._run_prepare()
        runTouchApp(embedded=True)
        self.started = True
        self.frames(3)

    def stop(self) -> None:
        if self.started:
            self.app.stop()
            self.frames(1)
            self.started = False

    def frames(self, n: int = 2) -> None:
        for _ in range(n):
            EventLoop.idle()

    def wait(self, condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise DriverError(f"timed out waiting for {what or condition} (screen: {self.app.current}, "
                                  f"notice: {self.app.notice!r})")
            EventLoop.idle()
            time.sleep(0.01)
        self.frames(2)

    def wait_screen(self, name: str, timeout: float = 30.0) -> None:
        self.wait(lambda: self.app.current == name and not self.app.busy, timeout, f"screen {name}")

    def idle(self, timeout: float = 60.0) -> None:
        self.wait(lambda: self.app.pending_tasks == 0, timeout, "background work")

    def widget(self, widget_id: str, screen: str | None = None):
        scr = self.app.screen(screen or self.app.current)
        # ids live on the root of the kv rule that named them: the screen, or a widget inside it (the keypad).
        for owner in scr.walk():
            w = getattr(owner, "ids", {}).get(widget_id)
            if w is not None:
                return w
        raise DriverError(f"no widget {widget_id!r} on screen {scr.name}")

    def tap(self, target, screen: str | None = None) -> None:
        widget = self.widget(target, screen) if isinstance(target, str) else target
        self.scroll_into_view(widget)
        x, y = widget.to_window(*widget.center)
        touch = FingerTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(2)

    def scroll_into_view(self, widget) -> None:
        """A finger scrolls to what it wants to press: the enclosing ScrollView, if any, shows the widget."""
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                from kivy.uix.recycleview import RecycleView

                content = parent.children[0] if parent.children else None
                # A RecycleView lays out only what it shows; content shorter than the view needs no scrolling.
                if not isinstance(parent, RecycleView) and content is not None and content.height > parent.height:
                    parent.scroll_to(widget, padding=10, animate=False)
                    self.frames(2)
                return
            parent = parent.parent

    def tap_text(self, text: str, exact: bool = False) -> None:
        """Tap the first enabled button on the current screen whose text contains (or is) `text`."""
        from kivy.uix.button import Button

        for w in self.app.screen(self.app.current).walk():
            if isinstance(w, Button) and not w.disabled and (w.text == text if exact else text in w.text):
                self.tap(w)
                return
        raise DriverError(f"no button with text {text!r} on screen {self.app.current}")

    def overflow(self, screen: str | None = None) -> list[str]:
        """Text that does not fit its widget, and widgets reaching outside the window, on a screen and the overlays
        shown over it (content inside a ScrollView may extend beyond its view: that is what scrolling is for)."""
        from kivy.core.window import Window
        from kivy.uix.label import Label
        from kivy.uix.scrollview import ScrollView

        scr = self.app.screen(screen or self.app.current)
        problems = []

        def visible(w) -> bool:
            node = w
            while node is not None and node is not node.parent:
                if node.opacity == 0 or node.width <= 1 or node.height <= 1:
                    return False
                node = node.parent
            return True

        def scrolled(w) -> bool:
            node = w.parent
            while node is not None and node is not node.parent:
                if isinstance(node, ScrollView):
                    return True
                node = node.parent
            return False

        for w in scr.walk():
            if not visible(w):
                continue
            x, y = w.to_window(w.x, w.y)
            if not scrolled(w) and (x < -1 or y < -1 or x + w.width > Window.width + 1 or y + w.height > Window.height + 1):
                problems.append(f"{type(w).__name__} {getattr(w, 'text', '')[:30]!r} reaches outside the window")
            if isinstance(w, Label) and w.text:
                tw, th = w.texture_size
                if th > w.height + 2 or (w.text_size[0] is not None and tw > w.width + 2):
                    problems.append(f"{type(w).__name__} {w.text[:30]!r} does not fit ({tw:.0f}x{th:.0f} in "
                                    f"{w.width:.0f}x{w.height:.0f})")
        return problems

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frames(3)
        self.app.root.export_to_png(str(path))
        return path
