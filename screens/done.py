"""Goodbye: remind the citizen to take the ID card and the original papers; then wipe and go home."""
from kivy.clock import Clock

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv

RETURN_HOME_S = 20


class DoneScreen(KioskScreen):
    voice_prompt = N_("Please take your ID card and your original papers")
    _event = None

    def on_enter(self, *args):
        # The receipt is in the citizen's hand: nothing personal needs to stay in memory or on disk.
        self.app.wipe_data()  # language and elder mode stay for this goodbye, and reset on the way home
        self._event = Clock.schedule_once(lambda dt: self.finish(), RETURN_HOME_S)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def finish(self) -> None:
        self.app.end_session()


SCREEN_CLASS = DoneScreen
load_kv("done")
