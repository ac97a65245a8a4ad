"""The counter role of the app: the clerk's screens and the bar that shows who is signed in.

`install(app, root)` is called by the App in the counter role: it adds the counter screens, the clerk bar
under the header and the 培训 watermark, wraps the terminal's outbox so that cases entered here carry the
clerk and the outlet, and returns the `CounterDesk` the App consults for navigation and card events.
"""
from __future__ import annotations

import importlib

from screens.counter.desk_state import CounterDesk

# Counter screens: each a module `screens/counter/<name>.py` with `<name>.kv`, shown as the screen
# `counter_<name>` (the citizen side has screens of its own with some of these names).
SCREENS = ("clerk_login", "desk", "queue", "request_detail", "proxy_signature", "collect", "handout", "escalation",
           "material")


def install(app, root) -> CounterDesk:
    from screens.base import load_kv

    load_kv("counter/counter_widgets")
    importlib.import_module("screens.counter.widgets")
    desk = CounterDesk(app)
    app.counter = desk
    for name in SCREENS:
        module = importlib.import_module(f"screens.counter.{name}")
        app.sm.add_widget(module.SCREEN_CLASS(name=f"counter_{name}"))
    desk.attach(root)
    return desk
