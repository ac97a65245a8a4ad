"""Switch to a screen never shown before whose `on_pre_enter` sets a long text, and print (as JSON) the widths its
label's text was drawn at: used by test_screen_fit."""
import json
import os
import sys
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from screens.kivy_setup import configure  # noqa: E402

configure(False, 1280, 800, headless=True)

from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.boxlayout import BoxLayout  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen  # noqa: E402
from kivy.uix.scrollview import ScrollView  # noqa: E402

from screens.lazy_screens import LazyScreenManager  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

EventLoop.ensure_window()
drawn = []


class Probe(Label):
    def texture_update(self, *largs):
        super().texture_update(*largs)
        if self.text:
            drawn.append(round(self.width))


class Guide(Screen):
    def __init__(self, **kw):
        super().__init__(**kw)
        box = BoxLayout(orientation="vertical", padding=(40, 16))
        scroll = ScrollView(do_scroll_x=False)
        self.body = Probe(size_hint_y=None)
        self.body.bind(width=lambda w, v: setattr(w, "text_size", (v, None)))
        scroll.add_widget(self.body)
        box.add_widget(scroll)
        self.add_widget(box)

    def on_pre_enter(self, *args):
        self.body.text = "实施部门：西安市公安局。" * 40


sm = LazyScreenManager(transition=NoTransition())
sm.add_widget(Screen(name="home"))
sm.add_lazy("guide", Guide)
Window.add_widget(sm)
for _ in range(5):
    EventLoop.idle()
sm.current = "guide"
for _ in range(5):
    EventLoop.idle()
print("RESULT " + json.dumps({"drawn_at": drawn, "width": round(sm.get_screen("guide").body.width)}))
