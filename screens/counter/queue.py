"""The 代办 queue: the outlet's open requests, best first (绿色通道, then the oldest), each with its status,
waiting time, SLA bar (amber from 70 %, red from 90 %), mode and the masked applicant. While shown it follows
the hub's live feed (kiosk.counter.client.FeedFollower): every event of the outlet's requests lists the queue
again at once; while the feed is away it is polled every few seconds instead. "claim next" takes the best request
in the pool."""
from __future__ import annotations

import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.counter import services as svc
from kiosk.counter.actors import actor_words
from kiosk.counter.sla import level, waiting
from kiosk.i18n import N_
from kiosk.proxy_words import LEVELS, MODES, STATUS
from screens.base import load_kv
from screens.counter.base import CounterScreen
from screens.counter.widgets import CounterQueueRow

REFRESH_S = 3.0  # polling while the live feed is away
FEED_SAFETY_S = 60.0  # with the feed live, still list the queue this often (SLA bars move with time)
HELD = ("claimed", "in_progress", "waiting_citizen", "filed")


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
    status = _(STATUS.get(r.get("status"), r.get("status") or ""))
    if r.get("holder") and r.get("status") in HELD:  # who has it: the clerk asked about it knows whom to ask
        status = _("{status} ({who})").format(status=status, who=actor_words(r["holder"], _))
    tail = " · ".join([who, status,
                       _("waiting {t}").format(t=waiting(r.get("created_at"))),
                       _("time used {p}%").format(p=int(round((r.get("sla") or {}).get("percent", 0))))])
    return (("【" + "｜".join(marks) + "】") if marks else "") + head + "\n" + tail


class CounterQueueScreen(CounterScreen):
    voice_prompt = N_("The proxy request queue of this outlet.")
    problem = StringProperty("")
    summary = StringProperty("")
    feed_live = BooleanProperty(False)
    _event = None
    _follower = None
    _last_refresh = 0.0
    _pending = None

    def on_pre_enter(self, *args):
        self.refresh()
        self._event = Clock.schedule_interval(lambda dt: self._tick(), REFRESH_S)
        self._follow()

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        self.feed_live = False

    # -- the live feed -------------------------------------------------------------------------
    def _follow(self) -> None:
        from kiosk.counter.client import FeedFollower

        if self._follower is not None or self.services.clerk is None:
            return
        self._follower = FeedFollower(self.services.clerk_client, self._feed_event, self._feed_state).start()

    def _feed_event(self, doc: dict) -> None:
        """On the follower's thread: one list call for a burst of events (coalesced within a tenth of a second)."""
        Clock.schedule_once(lambda dt: self._soon(), 0)

    def _feed_state(self, live: bool) -> None:
        Clock.schedule_once(lambda dt: setattr(self, "feed_live", live), 0)

    def _soon(self) -> None:
        if self._pending is None:
            self._pending = Clock.schedule_once(lambda dt: self._refresh_now(), 0.1)

    def _refresh_now(self) -> None:
        self._pending = None
        if self.app.current != self.name:
            return
        if self.app.busy:  # a claim or another call in flight: list once it is done
            self._pending = Clock.schedule_once(lambda dt: self._refresh_now(), 0.5)
            return
        self.refresh(quiet=True)

    def _tick(self) -> None:
        """The poll: every REFRESH_S while the feed is away, else only as a safety net."""
        if self.feed_live and time.monotonic() - self._last_refresh < FEED_SAFETY_S:
            return
        self.refresh(quiet=True)

    def reset(self) -> None:
        self.problem = self.summary = ""
        self.ids.rows.clear_widgets()

    def refresh(self, quiet: bool = False) -> None:
        if quiet and self.app.busy:
            return
        self._last_refresh = time.monotonic()
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
