"""Change screens on a lazy screen manager whose next screen makes cyclic garbage while it is prepared, and print
(as JSON) the collections that ran between the change and its first frame and after it: used by
test_collections."""
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
phase = ["idle"]
runs = {"change": 0, "after": 0}


def watch(event, _info):
    if event == "start" and phase[0] in runs:
        runs[phase[0]] += 1


class Busy(Screen):
    def on_pre_enter(self, *args):
        for _ in range(20000):  # cycles only the collector frees: enough to bring several collections due
            a = []
            a.append(a)


def flipped(*_):
    if phase[0] == "change":
        phase[0] = "after"


sm = LazyScreenManager(transition=NoTransition())
sm.add_widget(Screen(name="home"))
sm.add_widget(Busy(name="busy"))
sm.get_screen("busy").add_widget(Label(text="busy"))
Window.add_widget(sm)
for _ in range(3):
    EventLoop.idle()
gc.callbacks.append(watch)
Window.bind(on_flip=flipped)
phase[0] = "change"
sm.current = "busy"
enabled_in_change = gc.isenabled()
for _ in range(5):
    EventLoop.idle()
    junk = [[] for _ in range(2000)]  # what the shown screen allocates next
    for j in junk:
        j.append(j)
    del junk
print("RESULT " + json.dumps({"collections": runs, "enabled_in_change": enabled_in_change,
                              "enabled_after": gc.isenabled()}))
