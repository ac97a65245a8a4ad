"""The escalation seat: signed in as 窗口人员, 审批科长 or 中心领导, the requests that reached this level, with their
history; open one to resolve it (send it down with the resolution), return it to the pool, or escalate further."""
from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.counter import services as svc
from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen
from kiosk.proxy_words import LEVELS
from screens.counter.queue import row_text
from screens.counter.widgets import CounterQueueRow
from kiosk.counter.sla import level


class CounterEscalationScreen(CounterScreen):
    voice_prompt = N_("Requests escalated to your level.")
    problem = StringProperty("")
    title_line = StringProperty("")

    def on_pre_enter(self, *args):
        clerk = self.services.clerk
        if clerk is None:
            return
        self.title_line = self._("Escalated to: {level}").format(level=self._(LEVELS.get(clerk.level, "")))
        lvl = clerk.level
        self.app.run_bg(lambda: svc.list_requests(self.services, level=lvl), self._show, self._failed,
                        busy_text=self._("Loading…"))

    def reset(self) -> None:
        self.problem = self.title_line = ""
        self.ids.rows.clear_widgets()

    def _show(self, items: list) -> None:
        box = self.ids.rows
        box.clear_widgets()
        self.problem = "" if items else self._("Nothing has reached your level.")
        for r in items:
            share = float((r.get("sla") or {}).get("percent", 0)) / 100.0
            row = CounterQueueRow(request=r, share=share, level=level(share), text=row_text(self._, r))
            row.bind(on_release=lambda b: self.open(b.request))
            box.add_widget(row)

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)

    def open(self, request: dict) -> None:
        self.app.screen("counter_request_detail").show(request["id"])
        self.app.go("counter_request_detail")


SCREEN_CLASS = CounterEscalationScreen
load_kv("counter/escalation")
