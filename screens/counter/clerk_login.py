"""Clerk sign-in at the start of a shift: the clerk's own ID card on the reader, then the PIN.

A citizen's card is refused (it does not belong to a clerk); wrong PINs make the next try wait longer.
"""
from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen


class CounterLoginScreen(CounterScreen):
    voice_prompt = N_("Clerk sign-in: place your own ID card on the reader, then enter your PIN.")
    problem = StringProperty("")
    card_line = StringProperty("")
    has_card = BooleanProperty(False)
    wait_s = NumericProperty(0)
    _card: dict | None = None
    _wait_event = None

    def on_pre_enter(self, *args):
        self.ids.pin.text = ""

    def reset(self) -> None:
        self._card = None
        self.has_card = False
        self.card_line = ""
        self.problem = ""
        self.ids.pin.text = ""

    def card_placed(self, card: dict) -> None:
        if self._card is not None and self._card.get("id_number") == card.get("id_number"):
            return  # the same card read again: keep the PIN typed so far
        self._card = card
        self.has_card = True
        self.problem = ""
        self.ids.pin.text = ""
        from kiosk.privacy.masking import mask_document_number

        self.card_line = self._("Card read: {id}. Now enter your PIN.").format(id=mask_document_number(card.get("id_number")))

    def card_removed(self) -> None:
        """The card left the reader: its PIN goes with it."""
        self._card = None
        self.has_card = False
        self.card_line = ""
        self.ids.pin.text = ""

    def sign_in(self) -> None:
        pin = self.ids.pin.text.strip()
        if self._card is None:
            self.problem = self._("Place your own ID card on the reader first.")
            return
        if len(pin) < 4:
            self.problem = self._("Enter your PIN (4 to 8 digits).")
            return
        if self.wait_s > 0:
            return
        card = self._card
        self.app.run_bg(lambda: self.services.sign_in(card, pin), self._signed_in, self._refused,
                        busy_text=self._("Signing in…"))

    def _signed_in(self, clerk) -> None:
        self.reset()
        self.desk.signed_in_as(clerk)
        self.app.go("counter_desk")

    def _refused(self, exc) -> None:
        self.ids.pin.text = ""
        self.problem = self.refusal_text(exc)
        retry = getattr(exc, "retry_after_s", 0)
        if retry:
            self._count_down(retry)
        if getattr(exc, "code", "") == "wrong_pin":
            left = exc.detail.get("attempts_left")
            if retry:
                self.problem += " " + self._("Too many wrong PINs. Please wait {s} seconds, then try again.").format(s=retry)
            elif left:
                self.problem += " " + self._("{n} more attempt(s) before a wait.").format(n=left)

    def _count_down(self, seconds: int) -> None:
        self.wait_s = seconds
        if self._wait_event is not None:
            self._wait_event.cancel()

        def tick(dt):
            self.wait_s = max(0, self.wait_s - 1)
            if self.wait_s <= 0:
                self._wait_event = None
                return False
            return True

        self._wait_event = Clock.schedule_interval(tick, 1.0)

    def toggle_training(self) -> None:
        self.app.run_bg(lambda: self.desk.toggle_training_work(), lambda on: self.desk.set_training(on),
                        lambda exc: setattr(self, "problem", self.refusal_text(exc)),
                        busy_text=self._("Switching training mode…"))


SCREEN_CLASS = CounterLoginScreen
load_kv("counter/clerk_login")
