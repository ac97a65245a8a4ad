"""The counter's state on the UI side: who is signed in, training on or off, actions waiting for the hub;
navigation rules of the counter role (home is the clerk's desk, or the sign-in screen) and card events."""
from __future__ import annotations

import logging
import time

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.counter.clerk import IDLE_SIGN_OUT_S
from kiosk.counter.services import CounterServices

log = logging.getLogger(__name__)

# The citizen journey's screens, reused for 代录; a clerk's own card is not a citizen's card there.
CITIZEN_SCREENS = ("id_login", "service_list", "guide", "form", "scan", "confirm", "receipt", "done")
DRAIN_EVERY_S = 10.0  # how often actions waiting for the hub are retried
COUNTER_SCREENS = ("counter_clerk_login", "counter_desk", "counter_queue", "counter_request_detail", "counter_proxy_signature", "counter_collect", "counter_handout",
                   "counter_escalation", "counter_material")


class StampingOutbox:
    """The terminal's outbox, with every case entered at the counter carrying the clerk and the outlet
    (`form.counter`), and, when filed from a 代办 request, the request it belongs to."""

    def __init__(self, inner, desk: "CounterDesk") -> None:
        self._inner = inner
        self._desk = desk

    def enqueue(self, payload: dict, files):
        stamp = self._desk.services.stamp()
        if stamp:
            payload = dict(payload)
            form = dict(payload.get("form") or {})
            if self._desk.filing_request_id:
                stamp["proxy_request_id"] = self._desk.filing_request_id
                self._filing = (self._desk.filing_request_id, payload.get("receipt_no", ""))
            form["counter"] = stamp
            payload["form"] = form
            self._desk.last_entered_receipt = payload.get("receipt_no", "")
        return self._inner.enqueue(payload, files)

    def drain(self, hub, *args, **kwargs):
        """After the case went to the hub, the 代办 request it was filed from is marked `filed` with it (or that
        action waits in the counter queue while the hub is away)."""
        report = self._inner.drain(hub, *args, **kwargs)
        filing, self._filing = getattr(self, "_filing", None), None
        if filing:
            from kiosk.counter import services as svc

            request_id, receipt_no = filing
            try:
                svc.transition(self._desk.services, int(request_id), "file", receipt_no=receipt_no)
            except Exception as exc:  # a refusal shows on the request's screen; the case itself is safe
                log.warning("request %s not marked filed: %s", request_id, exc)
            self._desk.filing_request_id = ""
        return report

    def __getattr__(self, name):
        return getattr(self._inner, name)


class CounterDesk(EventDispatcher):
    signed_in = BooleanProperty(False)
    clerk_line = StringProperty("")
    clerk_role = StringProperty("")
    training = BooleanProperty(False)
    waiting_actions = NumericProperty(0)

    def __init__(self, app, **kwargs) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.services = CounterServices(app.cfg, app.terminal)
        self.filing_request_id = ""  # a 全程代办 request whose application is being entered
        self.filing_item_code = ""
        self.last_entered_receipt = ""
        self.last_touch = time.monotonic()
        self._wrap_outbox()
        self._real = None
        self._draining = False
        self._last_drain = 0.0
        app.bind(on_stop=self.stop_training)
        Clock.schedule_interval(lambda dt: self._tick(), 1.0)

    # -- wiring -------------------------------------------------------------------------------
    def _wrap_outbox(self) -> None:
        terminal = self.app.terminal
        terminal._outbox = StampingOutbox(terminal.outbox(), self)

    def attach(self, root) -> None:
        from screens.counter.widgets import CounterClerkBar, CounterTrainingWatermark

        column = root.children[-1]  # the vertical box: header bar, then the screen frame
        column.add_widget(CounterClerkBar(), index=1)
        root.add_widget(CounterTrainingWatermark(), index=2)  # under the notice and the busy/idle overlays
        from kivy.core.window import Window

        Window.bind(on_touch_down=lambda *a: self.touched())
        self._guard_card_on_reader()

    def _guard_card_on_reader(self) -> None:
        """A journey started with the clerk's own card still on the reader must not take it for the citizen's."""
        app = self.app
        original = getattr(app, "card_on_reader", None)
        if original is None:
            return

        def card_on_reader():
            card = original()
            clerk = self.services.clerk
            if card and clerk is not None:
                data = card.to_dict() if hasattr(card, "to_dict") else dict(card)
                if clerk.is_own_card(data.get("id_number")):
                    app.notice = app.tr._("This is your own ID card. Please place the citizen's card.")
                    return False  # like a card from an earlier session: it must be lifted, the citizen's placed
            return card

        app.card_on_reader = card_on_reader

    # -- navigation ---------------------------------------------------------------------------
    def home_screen(self) -> str:
        return "counter_desk" if self.signed_in else "counter_clerk_login"

    def idle_exempt(self, screen: str) -> bool:
        """The citizen idle warning belongs to the citizen screens; the clerk's screens have the shift timeout."""
        return screen in COUNTER_SCREENS

    def on_card(self, event) -> bool:
        """True when the counter handled the card event (the App then does nothing more with it)."""
        kind = getattr(event, "kind", None)
        if kind == "removed" and self.app.current == "counter_clerk_login":
            self.app.screen("counter_clerk_login").card_removed()
            return True
        if kind != "placed":
            return False
        card = event.card.to_dict() if hasattr(event.card, "to_dict") else dict(event.card)
        current = self.app.current
        clerk = self.services.clerk
        if clerk is not None and current in CITIZEN_SCREENS + ("counter_collect", "counter_handout") and \
                clerk.is_own_card(card.get("id_number")):
            self.app.notice = self.app.tr._("This is your own ID card. Please place the citizen's card.")
            return True
        screen = self.app.screen(current)
        if current in COUNTER_SCREENS and hasattr(screen, "card_placed"):
            screen.card_placed(card)
            return True
        return False

    # -- the clerk ----------------------------------------------------------------------------
    def signed_in_as(self, clerk) -> None:
        self.signed_in = True
        self.clerk_role = clerk.role
        from kiosk.proxy_words import LEVELS

        role = self.app.tr._(LEVELS.get(clerk.level, "")) if clerk.role != "runner" else self.app.tr._("Runner")
        self.clerk_line = f"{clerk.name}（{role}） · {clerk.outlet_name or clerk.outlet_code}"
        self.last_touch = time.monotonic()

    def sign_out(self, reason: str = "sign_out") -> None:
        """End the shift: the token is revoked at the hub, every counter screen forgets what it showed."""
        self.app.end_session(go_home=False)
        self.signed_in = False
        self.clerk_line = ""
        self.clerk_role = ""
        self.filing_request_id = ""
        for name in COUNTER_SCREENS:
            self.app.screen(name).reset()
        services = self.services
        threading_run(lambda: services.sign_out(reason))
        self.app.go("counter_clerk_login")
        if reason == "timeout":
            self.app.notice = self.app.tr._("Signed out after a long pause. Please sign in again.")

    def touched(self) -> None:
        self.last_touch = time.monotonic()

    def _tick(self) -> None:
        clerk = self.services.clerk
        if clerk is not None and (clerk.expired() or time.monotonic() - self.last_touch > IDLE_SIGN_OUT_S):
            if not self.app.busy:
                log.info("shift timeout: the clerk is signed out")
                self.sign_out("timeout")
        try:
            self.waiting_actions = len(self.services.actions().waiting()) if clerk is not None else 0
        except Exception:  # the count is a hint on the bar, never a reason to stop
            pass
        # Actions kept while the hub was away go out by themselves once it answers again.
        if self.waiting_actions and not self._draining and time.monotonic() - self._last_drain > DRAIN_EVERY_S:
            self._last_drain = time.monotonic()
            self._draining = True

            def drain():
                try:
                    self.services.drain()
                except Exception as exc:
                    log.info("counter actions still waiting: %s", exc)
                finally:
                    self._draining = False

            threading_run(drain)

    # -- training -----------------------------------------------------------------------------
    def toggle_training_work(self) -> bool:
        """(worker thread) Start or stop the training hub and point the counter at it; returns training on/off."""
        from pathlib import Path

        from kiosk.counter.training import TrainingStack

        services, terminal = self.services, self.app.terminal
        if services.clerk is not None:
            services.sign_out()
        if services.training is None:
            stack = TrainingStack(Path(self.app.cfg.kiosk.data_dir) / "training", self.app.cfg.kiosk.device_id)
            stack.start_kept()
            services.training = stack
            self._real = (terminal._hub, terminal._outbox, self.app.cfg.devices.camera.source)
            from kiosk.sync.client import HubClient
            from kiosk.sync.outbox import Outbox

            terminal._hub = HubClient(stack.hub_url, stack.token, timeout=self.app.cfg.hub.timeout_s)
            terminal._outbox = StampingOutbox(Outbox(services.data_dir), self)
            terminal.release_camera()
            self.app.cfg.devices.camera.source = "sim:"  # sample papers under a simulated camera
            original = terminal.render_receipt

            def training_receipt(kind, data, receipt_no):
                # The citizen's 受理回执 printed during training says so under its title.
                data = dict(data, outlet=f"【培训 TRAINING】{data.get('outlet') or ''}")
                return original(kind, data, receipt_no)

            terminal.render_receipt = training_receipt
            return True
        stack, services.training = services.training, None
        hub, outbox, camera = self._real
        terminal._hub, terminal._outbox = hub, outbox
        terminal.__dict__.pop("render_receipt", None)
        terminal.release_camera()
        self.app.cfg.devices.camera.source = camera
        stack.stop_kept()
        stack.wipe()
        return False

    def set_training(self, on: bool) -> None:
        self.training = on
        self.signed_in = False
        self.clerk_line = ""
        self.clerk_role = ""

    def inject_sample_card(self, name: str) -> None:
        """Training: a sample card as if placed on the reader (citizen, agent, the trainee clerk)."""
        from types import SimpleNamespace

        from kiosk.counter import sample_card
        from kiosk.demo import sample_card as citizen_card

        try:
            card = sample_card(name)
        except FileNotFoundError:
            card = citizen_card(name)
        self.app._on_card_event(SimpleNamespace(kind="placed", card=card))

    def stop_training(self, *_):
        stack = self.services.training
        if stack is not None:
            self.services.training = None
            stack.stop_kept()
            stack.wipe()


def threading_run(work) -> None:
    import threading

    threading.Thread(target=work, name="counter-bg", daemon=True).start()

