"""The 代办 sweeper: a background thread in each hub process that keeps the queue honest.

Every `sweep_s` it returns held requests whose lease ended to the pool, records SLA warnings at 70/80/90 % of
the promised working time and the breach at 100 % (each once, each an event, escalating one level at the
thresholds configured in `escalate_at`), expires 委托书 past their date, and follows filed requests' cases
(platform `completed` → done; `rejected` → back to in_progress for the holder). Several hub processes may
sweep one PostgreSQL: rows are taken with `FOR UPDATE SKIP LOCKED` and every step re-checks under the lock."""
from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import select

from kiosk.hub.models import Case, ProxyMandate, ProxyRequest, utcnow
from kiosk.hub.proxy_service import ACTOR, CLOCK_RUNS, ProxyService, aware, iso

log = logging.getLogger("kiosk.hub.proxy_sweeper")

THRESHOLDS = (70, 80, 90, 100)


class Sweeper:
    def __init__(self, service: ProxyService, interval_s: float | None = None) -> None:
        self.service = service
        self.interval_s = interval_s if interval_s is not None else service.settings.sweep_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="proxy-sweeper", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the database went away, say: keep sweeping later
                log.exception("proxy sweep failed")

    def run_once(self, now: dt.datetime | None = None) -> dict:
        svc = self.service
        counts = {"leases": svc.expire_leases(), "sla_events": self.sla(now), "mandates": self.mandates(now),
                  "cases": self.cases()}
        return counts

    # -- SLA -----------------------------------------------------------------------------------
    def sla(self, now: dt.datetime | None = None, batch: int = 500) -> int:
        """Record each threshold a running request has passed since the last sweep."""
        svc = self.service
        now = now or utcnow()
        with svc.hub.sessions() as s:
            rows = s.execute(select(ProxyRequest.id, ProxyRequest.created_at, ProxyRequest.sla_budget_s,
                                    ProxyRequest.sla_paused_s, ProxyRequest.sla_stage)
                             .where(ProxyRequest.status.in_(CLOCK_RUNS), ProxyRequest.sla_paused_at.is_(None),
                                    ProxyRequest.sla_stage < 100)).all()
        due = []
        for rid, created, budget, paused, stage in rows:
            used = svc.calendar.working_seconds(aware(created), now) - (paused or 0)
            percent = 100.0 * used / max(1, budget)
            if any(stage < th <= percent for th in THRESHOLDS):
                due.append(rid)
        recorded = 0
        for start in range(0, len(due), batch):
            with svc.tx() as t:
                for req in t.s.scalars(select(ProxyRequest).where(ProxyRequest.id.in_(due[start:start + batch]))
                                       .with_for_update(skip_locked=True)):
                    recorded += self._stage(t, req, now)
        return recorded

    def _stage(self, t, req: ProxyRequest, now: dt.datetime) -> int:
        svc = self.service
        if req.status not in CLOCK_RUNS or req.sla_paused_at is not None:
            return 0
        percent = svc.sla(req, now)["percent"]
        n = 0
        for th in THRESHOLDS:
            if req.sla_stage < th <= percent:
                req.sla_stage = th
                req.updated_at = now
                action = "sla_breached" if th == 100 else "sla_warning"
                svc.event(t, req, ACTOR, action, threshold=th, percent=percent, due_at=iso(req.sla_due_at))
                n += 1
                if th in svc.settings.escalate_at and req.level < 3:
                    reason = ("SLA breached: the promised time has passed" if th == 100
                              else f"SLA warning: {th}% of the promised time used")
                    svc._move_level(t, req, +1, ACTOR, reason, threshold=th)
        return n

    # -- 委托书 and cases ------------------------------------------------------------------------
    def mandates(self, now: dt.datetime | None = None) -> int:
        svc = self.service
        now = now or utcnow()
        with svc.tx() as t:
            n = 0
            for m in t.s.scalars(select(ProxyMandate).where(ProxyMandate.status.in_(("active", "renewed", "suspended")),
                                                            ProxyMandate.expires_at <= now)
                                 .limit(500).with_for_update(skip_locked=True)):
                req = t.s.get(ProxyRequest, m.request_id)
                svc._mandate_status(t, m, req, now)
                n += 1
        return n

    def cases(self) -> int:
        """Filed requests follow their case: the platform's `completed` closes them, `rejected` reopens them."""
        svc = self.service
        with svc.hub.sessions() as s:
            pairs = s.execute(select(ProxyRequest.id, Case.platform_status)
                              .join(Case, Case.receipt_no == ProxyRequest.receipt_no)
                              .where(ProxyRequest.status == "filed",
                                     Case.platform_status.in_(("completed", "rejected")))).all()
        n = 0
        for rid, platform_status in pairs:
            with svc.tx() as t:
                req = t.s.scalars(select(ProxyRequest).where(ProxyRequest.id == rid, ProxyRequest.status == "filed")
                                  .with_for_update(skip_locked=True)).first()
                if req is None:
                    continue
                now = utcnow()
                if platform_status == "completed":
                    req.status = "done"
                    req.closed_at = now
                    req.updated_at = now
                    svc.event(t, req, ACTOR, "done", from_status="filed", to_status="done",
                              receipt_no=req.receipt_no, platform_status=platform_status)
                    svc._complete_mandates(t, req, ACTOR, now)
                    svc.purge_materials(t, req, ACTOR)
                    svc.notify(t, req, "done")
                else:
                    req.status = "in_progress"
                    if req.sla_stopped_at is not None:  # the clock stood still while the platform had the case
                        stood = svc.calendar.working_seconds(aware(req.sla_stopped_at), now)
                        req.sla_paused_s = (req.sla_paused_s or 0) + stood
                        req.sla_due_at = svc.calendar.add_working_seconds(aware(req.sla_due_at), stood)
                    req.sla_stopped_at = None
                    req.lease_until = now + dt.timedelta(seconds=svc.settings.lease_s)
                    req.updated_at = now
                    svc.event(t, req, ACTOR, "case_rejected", from_status="filed", to_status="in_progress",
                              receipt_no=req.receipt_no, platform_status=platform_status)
                n += 1
        return n
