"""Kiosks' device health from the last `kiosk diag` report each one sent (table diag_reports)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from kiosk.hub.console.periods import Scope
from kiosk.hub.console.stats import device_outlets
from kiosk.hub.console.tables import Table
from kiosk.hub.console.web import local_time
from kiosk.i18n import gettext as _

STALE_AFTER = dt.timedelta(days=2)  # a kiosk that has not reported for two days is itself a finding


def device_health(session, scope: Scope, lang: str, now: dt.datetime | None = None) -> list[Table]:
    from kiosk.hub.diag_reports import DiagReport

    now = now or dt.datetime.now(dt.timezone.utc)
    newest = select(DiagReport.device_id, func.max(DiagReport.id).label("id")).group_by(DiagReport.device_id).subquery()
    rows = session.execute(select(DiagReport.device_id, DiagReport.overall, DiagReport.level, DiagReport.created_at,
                                  DiagReport.report).join(newest, DiagReport.id == newest.c.id)
                           .order_by(DiagReport.device_id)).all()
    outlets = device_outlets(session)
    names = {"ok": _("OK", lang), "warning": _("Warning", lang), "error": _("Error", lang)}
    listing, counts = [], {}
    for device, overall, level, at, report in rows:
        code = outlets.get(device)
        if scope.codes is not None and code not in scope.codes:
            continue
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=dt.timezone.utc)
        checks = report.get("checks", []) if isinstance(report, dict) else []
        failing = [str(c.get("check") or c.get("device") or "?") for c in checks if isinstance(c, dict)
                   and c.get("severity", "ok") != "ok"]
        stale = at is not None and now - at > STALE_AFTER
        info = scope.outlets.get(code) if code else None
        listing.append([device, info.name if info else "—", names.get(overall, overall), ", ".join(failing[:6]) or "—",
                        local_time(at), _("yes", lang) if stale else ""])
        counts[overall] = counts.get(overall, 0) + 1
    summary = [[names.get(k, k), counts.get(k, 0)] for k in ("ok", "warning", "error")]
    return [Table("device_summary", _("Kiosks by health", lang), [_("Health", lang), _("Kiosks", lang)],
                  summary, chart="bar"),
            Table("device_health", _("Kiosks' last diagnostic reports", lang),
                  [_("Kiosk", lang), _("Outlet", lang), _("Health", lang), _("Failing checks", lang),
                   _("Reported", lang), _("Silent over 2 days", lang)], listing)]
