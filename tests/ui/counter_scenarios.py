"""Counter UI scenarios, each in its own process (Kivy has one window per process), run by test_counter_ui.py.

The real app in the counter role, offscreen, on the real stack (platform simulator and hub processes, simulated
ID reader, printer and camera); the outlet, its clerks (sample cards, PIN 246810) and a counter device token
bound to the outlet are seeded with `kiosk.counter.training.seed`.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kiosk.counter import sample_card as staff_card  # noqa: E402
from kiosk.counter.training import OUTLET, TRAINING_PIN, seed  # noqa: E402
from kiosk.demo import DemoStack, sample_card  # noqa: E402

OUT = Path(os.environ.get("KIOSK_UI_SHOTS", tempfile.mkdtemp(prefix="ui-counter-")))


@contextlib.contextmanager
def counter_stack(work: Path):
    with DemoStack(work, role="counter") as stack:
        stack.token = seed(stack.hub_db, stack.workdir, device_token_name=stack.device_id)["device_token"]
        yield stack


@contextlib.contextmanager
def counter_app(stack, **cfg_overrides):
    from screens.tour import make_app

    cfg = stack.kiosk_config(**cfg_overrides)
    app = make_app(cfg, headless=True)
    from screens.driver import AppDriver

    d = AppDriver(app)
    d.start()
    try:
        yield app, cfg, d
    finally:
        d.stop()


def type_pin(d, pin: str) -> None:
    for digit in pin:
        d.tap_text(digit, exact=True)


def sign_in(d, stack, card: str = "clerk", pin: str = TRAINING_PIN) -> None:
    app = d.app
    d.wait_screen("clerk_login", 60)
    d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
    stack.reader.place(staff_card(card))
    d.wait(lambda: app.screen("clerk_login").has_card, 30, "clerk card read")
    type_pin(d, pin)
    d.tap("btn_sign_in")
    d.idle(60)


def take_card_away(d, stack) -> None:
    from screens.tour import swap_card_out

    swap_card_out(d, stack)


def bar_widget(app, widget_id: str):
    """A widget of the clerk bar (above the screens)."""
    from screens.counter.widgets import ClerkBar

    bar = next(w for w in app.root.walk() if isinstance(w, ClerkBar))
    return bar.ids[widget_id]


def hub_get(stack, path: str, token: str | None = None) -> dict:
    return requests.get(f"{stack.hub_url}{path}", headers={"Authorization": f"Bearer {token or stack.token}"},
                        timeout=10).json()


def pin_lockout(work: Path) -> dict:
    """A citizen's card is refused as a clerk's; wrong PINs: two free, then a wait that even the right PIN cannot
    skip; the clerk signs in once the wait is over, and signs out."""
    with counter_stack(work) as stack:
        with counter_app(stack) as (app, cfg, d):
            scr = app.screen("clerk_login")
            d.wait_screen("clerk_login", 60)
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
            stack.reader.place(sample_card("resident"))
            d.wait(lambda: scr.has_card, 30, "citizen card read")
            type_pin(d, "123456")
            d.tap("btn_sign_in")
            d.idle(30)
            citizen_refusal = scr.problem
            take_card_away(d, stack)
            stack.reader.place(staff_card("clerk"))
            d.wait(lambda: scr.has_card and staff_card("clerk")["id_number"][-4:] in scr.card_line, 30, "clerk card")
            problems = []
            for wrong in ("111111", "222222", "333333"):
                type_pin(d, wrong)
                d.tap("btn_sign_in")
                d.idle(30)
                problems.append(scr.problem)
            d.screenshot(OUT / "pin" / "locked.png")
            wait_after_third = scr.wait_s
            button_disabled = d.widget("btn_sign_in").disabled
            # The right PIN while it waits: refused by the hub too (the button is held down only on this screen).
            from kiosk.counter.client import CounterClient, CounterRefused

            try:
                CounterClient(stack.hub_url, stack.token).sign_in(staff_card("clerk")["id_number"], TRAINING_PIN)
                locked_code = "signed_in"
            except CounterRefused as exc:
                locked_code = exc.code
            # The wait ends (the test moves the hub's clock on), then the right PIN signs in.
            import sqlite3

            db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
            db.execute("UPDATE counter_pin_failures SET locked_until = NULL")
            db.commit()
            db.close()
            scr.wait_s = 0
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.wait_screen("desk", 60)
            bar = app.root.walk()
            header = next(w.text for w in bar if getattr(w, "text", "") and "李文华" in str(w.text))
            d.screenshot(OUT / "pin" / "desk.png")
            d.tap(bar_widget(app, "btn_sign_out"))
            d.wait_screen("clerk_login", 30)
            return {"citizen_refusal": citizen_refusal, "problems": problems, "wait_after_third": wait_after_third,
                    "button_disabled": button_disabled, "locked_code": locked_code, "header": header,
                    "after_sign_out": app.current, "signed_in": app.counter.signed_in}


if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix=f"ui-{name}-") as tmp:
        result = globals()[name](Path(tmp))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
