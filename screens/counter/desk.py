"""The clerk's desk: the four outlet functions (代录, 代收, 代办, 代发), the escalation seat for 窗口人员 /
审批科长 / 中心领导, and training mode."""
from __future__ import annotations

from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen


class CounterDeskScreen(CounterScreen):
    voice_prompt = N_("Choose what to do for the citizen at the counter.")

    def enter_application(self) -> None:
        """代录: the citizen's card, the item, its form, the scans, the citizen confirms, the clerk submits."""
        self.desk.filing_request_id = ""
        self.app.start_session()

    def open(self, name: str) -> None:
        self.app.go(name)


SCREEN_CLASS = CounterDeskScreen
load_kv("counter/desk")
