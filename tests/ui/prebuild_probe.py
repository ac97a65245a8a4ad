"""Prebuild a screen manager with two screens and one transient screen while it idles on home, and print (as JSON)
what was built and whether the objects were frozen out of the collector's reach: used by test_prebuild."""
import gc
import json
import os
import sys
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from screens.kivy_setup import configure  # noqa: E402

configure(False, 400, 300, headless=True)

from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen  # noqa: E402

from screens.lazy_screens import LazyScreenManager  # noqa: E402

EventLoop.ensure_window()


def screen(**kw):
    s = Screen(**kw)
    s.add_widget(Label(text=s.name))
    return s


sm = LazyScreenManager(transition=NoTransition())
sm.add_widget(Screen(name="home"))
for name in ("a", "b"):
    sm.add_lazy(name, screen)
sm.add_lazy("installer", screen, transient=True)
Window.add_widget(sm)
frozen_before = gc.get_freeze_count()
sm.prebuild(delay=0, step=0)
frozen_when = None
for _ in range(30):
    EventLoop.idle()
    if frozen_when is None and gc.get_freeze_count() > frozen_before:
        frozen_when = {name: sm.is_built(name) for name in ("a", "b")}
print("RESULT " + json.dumps({"built": {name: sm.is_built(name) for name in ("a", "b", "installer")},
                              "unbuilt": sm.unbuilt, "frozen_when": frozen_when}))
