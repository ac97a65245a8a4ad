"""重点项目 on the console: the key projects not yet closed (销号), with their 代办专员 and age (table key_projects)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kiosk.hub.console.periods import Scope
from kiosk.hub.console.tables import Table
from kiosk.i18n import gettext as _


def open_key_projects(session, scope: Scope, lang: str, now: dt.datetime | None = None) -> list[Table]:
    from kiosk.hub.key_projects import CLOSED
    from kiosk.hub.models import KeyProject, KeyProjectEntry, ProxyRequest

    now = now or dt.datetime.now(dt.timezone.utc)
    q = select(KeyProject).where(KeyProject.status != "closed").order_by(KeyProject.created_at, KeyProject.id)
    if scope.codes is not None:
        q = q.where(KeyProject.outlet_code.in_(scope.codes))
    projects = list(session.scalars(q))
    still: dict[int, int] = {}
    if projects:
        for pid, status in session.execute(
                select(KeyProjectEntry.project_id, ProxyRequest.status)
                .join(ProxyRequest, KeyProjectEntry.proxy_request_id == ProxyRequest.id)
                .where(KeyProjectEntry.project_id.in_([p.id for p in projects]))):
            still[pid] = still.get(pid, 0) + (status not in CLOSED)
    statuses = {"open": _("Open", lang), "suspended": _("Suspended", lang)}
    rows = []
    for p in projects:
        created = p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=dt.timezone.utc)
        info = scope.outlets.get(p.outlet_code)
        rows.append([p.project_no, p.name, f"{p.org_name} {p.uscc}", info.name if info else p.outlet_code,
                     p.specialist or _("none assigned", lang), statuses.get(p.status, p.status),
                     max(0, (now - created).days), still.get(p.id, 0)])
    return [Table("key_projects", _("Key projects not yet closed (销号)", lang),
                  [_("Project number", lang), _("Project", lang), _("Enterprise", lang), _("Outlet", lang),
                   _("代办专员", lang), _("Status", lang), _("Age (days)", lang), _("Open 代办 requests", lang)], rows)]
