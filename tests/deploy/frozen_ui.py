"""A Kivy app that feeds the systemd watchdog the way the kiosk does (kiosk.watchdog.feed_from_clock), then
freezes its UI thread after FREEZE_AFTER_S seconds (if set). Run by test_watchdog.py under a stand-in for
systemd's watchdog."""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("KIVY_NO_ARGS", "1")

from kivy.config import Config  # noqa: E402

Config.set("graphics", "width", "200")
Config.set("graphics", "height", "100")

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

from kiosk.watchdog import feed_from_clock  # noqa: E402


class FrozenApp(App):
    def build(self):
        return Label(text="kiosk")

    def on_start(self):
        feed_from_clock(Clock)
        freeze = float(os.environ.get("FREEZE_AFTER_S", "0"))
        if freeze:
            # A blocking call on the UI thread (a hung driver call, a deadlock): the screen stops changing.
            Clock.schedule_once(lambda dt: time.sleep(3600), freeze)


FrozenApp().run()
