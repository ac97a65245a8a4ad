"""The 代办 queue: the outlet's open requests, best first (绿色通道, then the oldest), each with its status,
waiting time, SLA bar (amber from 70 %, red from 90 %), mode and the masked applicant. Refreshed every few
seconds while shown; "claim next" takes the best request in the pool."""
from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk.counter import services as svc
from kiosk.counter.sla import level, waiting
from kiosk.i18n import N_
from screens.base import load_kv
from screens.counter.base import CounterScreen
from screens.counter.widgets import CounterQueueRow

REFRESH_S = 3.0
MODES = {"remote_guidance": N_("Remote guidance"), "home_visit": N_("Home visit"), "full_proxy": N_("Full proxy"),
         "assisted": N_("On-site help")}
STATUS = {"new": N_("New"), "released": N_("Back in the pool"), "claimed": N_("Claimed"), "in_progress": N_("In progress"),
          "waiting_citizen": N_("Waiting for the citizen"), "filed": N_("Filed"), "done": N_("Done"),
          "cancelled": N_("Cancelled"), "refused": N_("Refused")}
LEVELS = {0: N_("Clerk"), 1: N_("Window"), 2: N_("Section chief"), 3: N_("Centre leader")}


def row_text(_, r: dict) -> str:
    """A queue row: marks (绿色通道, complaint, level), item and mode; masked applicant, status, wait, SLA."""
    marks = []
    if r.get("priority") == "green":
        marks.append(_("Green channel"))
    if r.get("kind") == "complaint":
        marks.append(_("Complaint"))
    if r.get("level"):
        marks.append(_(LEVELS.get(r["level"], "")))
    head = " · ".join([r.get("item_name") or r.get("request_no", ""), _(MODES.get(r.get("mode"), r.get("mode") or ""))])
    who = (r.get("applicant") or {}).get("name") or (r.get("applicant") or {}).get("org_name") or ""
    tail = " · ".join([who, _(STATUS.get(r.get("status"), r.get("status") or "")),
                       _("waiting {t}").format(t=waiting(r.get("created_at"))),
                       _("time used {p}%").format(p=int(round((r.get("sla") or {}).get("percent", 0))))])
    return (("【" + "｜".join(marks) + "】") if marks else "") + head + "\n" + tail


class CounterQueueScreen(CounterScreen):
    voice_prompt = N_("The proxy request queue of this outlet.")
    problem = StringProperty("")
    summary = StringProperty("")
    _event = None

    def on_pre_enter(self, *args):
        self.refresh()
        self._event = Clock.schedule_interval(lambda dt: self.refresh(quiet=True), REFRESH_S)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def reset(self) -> None:
        self.problem = self.summary = ""
        self.ids.rows.clear_widgets()

    def refresh(self, quiet: bool = False) -> None:
        if quiet and self.app.busy:
            return
        if quiet:
            import threading

            def work():
                try:
                    items = svc.list_requests(self.services)
                except Exception as exc:
                    Clock.schedule_once(lambda dt, e=exc: self._failed(e), 0)
                    return
                Clock.schedule_once(lambda dt: self._show(items), 0)

            threading.Thread(target=work, daemon=True, name="queue-refresh").start()
            return
        self.app.run_bg(lambda: svc.list_requests(self.services), self._show, self._failed,
                        busy_text=self._("Loading the queue…"))

    def _show(self, items: list) -> None:
        if self.app.current != self.name:
            return
        self.problem = ""
        box = self.ids.rows
        box.clear_widgets()
        for r in items:
            share = float((r.get("sla") or {}).get("percent", 0)) / 100.0
            row = CounterQueueRow(request=r, share=share, level=level(share), text=row_text(self._, r))
            row.bind(on_release=lambda b: self.open(b.request))
            box.add_widget(row)
        pool = sum(1 for r in items if r.get("status") in ("new", "released"))
        self.summary = self._("{n} open, {p} waiting to be claimed").format(n=len(items), p=pool)

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)

    def claim_next(self) -> None:
        self.app.run_bg(lambda: svc.claim_next(self.services), self._claimed, self._failed,
                        busy_text=self._("Claiming…"))

    def _claimed(self, request) -> None:
        if not request:
            self.problem = self._("Nothing is waiting in the queue.")
            return
        self.open(request)

    def open(self, request: dict) -> None:
        self.app.screen("counter_request_detail").show(request["id"])
        self.app.go("counter_request_detail")


SCREEN_CLASS = CounterQueueScreen
load_kv("counter/queue")
