"""Goodbye: remind the citizen to take the ID card and the original papers, offer 好差评 for the case just filed;
then wipe and go home."""
from kivy.clock import Clock
from kivy.properties import BooleanProperty

from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens.base import KioskScreen, after_next_frame, load_kv

RETURN_HOME_S = 20


class DoneScreen(KioskScreen):
    voice_prompt = N_("Please take your ID card and your original papers")
    _event = None
    can_rate = BooleanProperty(False)
    _rate_case: dict | None = None
    _wipe_pending = False

    def on_pre_enter(self, *args):
        # What may be rated is the receipt number and the item's name, nothing personal: kept past the wipe below.
        result, service = self.app.last_result, self.app.session.service
        self._rate_case = ({"receipt_no": result.receipt_no, "item_name": (service or {}).get("name", "")}
                           if result is not None else None)
        self.can_rate = self._rate_case is not None

    def on_enter(self, *args):
        # The receipt is in the citizen's hand: nothing personal needs to stay in memory or on disk. Wiped as soon
        # as this goodbye is on the screen (stopping the camera's thread and deleting the pages took 20-50 ms that
        # delayed it), and in any case before the citizen leaves it.
        self._wipe_pending = True
        after_next_frame(self._wipe)
        self._event = Clock.schedule_once(lambda dt: self.finish(), RETURN_HOME_S)

    def _wipe(self) -> None:
        if self._wipe_pending:
            self._wipe_pending = False
            self.app.wipe_data()  # language and elder mode stay for this goodbye, and reset on the way home

    def on_pre_leave(self, *args):
        self._wipe()

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def finish(self) -> None:
        self._wipe_pending = False  # end_session wipes it all: not twice
        self._rate_case = None
        self.app.end_session()

    def rate(self) -> None:
        """好差评 is offered after every transaction (国办发〔2019〕51号): the evaluation screen ends the session."""
        self._wipe()
        if self._rate_case is None:
            return
        citizen_services(self.app).last_case = dict(self._rate_case)
        self._rate_case = None
        self.app.go("evaluation")


SCREEN_CLASS = DoneScreen
load_kv("done")
