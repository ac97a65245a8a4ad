"""Today's board: open 代办 requests by status and level, those past 70/80/90 % of their time or breached, who
holds them. Counts are SQL aggregates; the list shows the most urgent requests first (masked, as stored)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, or_, select

from kiosk.hub.console.periods import Scope
from kiosk.hub.console.tables import Table
from kiosk.hub.console.web import local_time
from kiosk.hub.models import ProxyRequest
from kiosk.hub.proxy_service import HELD, POOL
from kiosk.i18n import N_, gettext as _
from kiosk.proxy_words import LEVELS, STATUS

LIST_LIMIT = 200
STAGES = (100, 90, 80, 70)
OPEN_STATES = POOL + HELD + ("filed",)  # every state but the final ones (done, cancelled, refused)


def level_label(level: int, lang: str) -> str:
    return _(LEVELS.get(level, "Level {n}"), lang).format(n=level)


def status_label(status: str, lang: str) -> str:
    names = {**STATUS, "closed": N_("Closed"), "escalated": N_("Escalated"), "accepted": N_("Accepted"),
             "submitted": N_("Submitted")}  # with a key project's and a case's
    return _(names[status], lang) if status in names else status


def _open(scope: Scope, level: int | None = None, actor: str | None = None):
    """Open requests of the subtree; an escalation level sees those at or below its level, or held by itself
    (the read rule of the 代办 API)."""
    # Open = not in a final state; spelled as the open states so the status index finds them (the closed are
    # nearly all of the table).
    conds = [ProxyRequest.status.in_(OPEN_STATES)]
    if scope.codes is not None:
        conds.append(ProxyRequest.outlet_code.in_(scope.codes))
    if level is not None:
        conds.append(or_(ProxyRequest.level <= level, ProxyRequest.holder == actor))
    return and_(*conds)


def stage_expr(now: dt.datetime):
    """The SLA threshold a request has passed: 100 once its due time is past, else the stage the SLA worker
    recorded (70, 80, 90), else 0."""
    return case((ProxyRequest.sla_due_at < now, 100), else_=ProxyRequest.sla_stage)


def board_tables(session, scope: Scope, lang: str, now: dt.datetime | None = None, limit: int | None = LIST_LIMIT,
                 level: int | None = None, actor: str | None = None) -> tuple[list[Table], list[dict]]:
    now = now or dt.datetime.now(dt.timezone.utc)
    where = _open(scope, level, actor)
    by = session.execute(select(ProxyRequest.status, ProxyRequest.level, func.count()).where(where)
                         .group_by(ProxyRequest.status, ProxyRequest.level)).all()
    levels = sorted({lv for _, lv, _ in by} | {0, 1, 2, 3})
    grid: dict[str, dict[int, int]] = {}
    for status, level, n in by:
        grid.setdefault(status, {})[level] = n
    status_rows = [[status_label(st, lang)] + [grid[st].get(lv, 0) for lv in levels] + [sum(grid[st].values())]
                   for st in sorted(grid)]
    status_table = Table("open_by_status", _("Open requests by status and level", lang),
                         [_("Status", lang)] + [level_label(lv, lang) for lv in levels] + [_("Total", lang)],
                         status_rows)
    stage = stage_expr(now)
    counts = dict(session.execute(select(stage, func.count()).where(where).group_by(stage)).all())
    stage_rows = [[_("Breached", lang), int(counts.get(100, 0))]] + [
        [_("Past {p} % of their time", lang).format(p=p), int(counts.get(p, 0))] for p in (90, 80, 70)]
    stage_rows.append([_("Within 70 %", lang), int(sum(v for k, v in counts.items() if k not in STAGES))])
    stage_table = Table("open_by_deadline", _("Open requests by deadline", lang),
                        [_("Deadline", lang), _("Requests", lang)], stage_rows, chart="bar")
    holders = session.execute(select(func.coalesce(ProxyRequest.holder, ""), func.count(),
                                     func.sum(case((stage >= 90, 1), else_=0)))
                              .where(where).group_by(ProxyRequest.holder).order_by(func.count().desc())).all()
    holder_table = Table("open_by_holder", _("Who holds them", lang),
                         [_("Holder", lang), _("Requests", lang), _("Past 90 % or breached", lang)],
                         [[h or _("(in the pool, unclaimed)", lang), n, int(late or 0)] for h, n, late in holders],
                         chart="bar")
    rows = session.execute(
        select(ProxyRequest.request_no, ProxyRequest.kind, ProxyRequest.outlet_code, ProxyRequest.item_name,
               ProxyRequest.applicant_masked, ProxyRequest.status, ProxyRequest.level, ProxyRequest.holder,
               ProxyRequest.sla_due_at, stage.label("stage"), ProxyRequest.priority)
        .where(where).order_by(stage.desc(), ProxyRequest.sla_due_at, ProxyRequest.id).limit(limit)).all()
    listing, items = [], []
    for r in rows:
        outlet = scope.outlets.get(r.outlet_code)
        stage_text = _("Breached", lang) if r.stage == 100 else (f"≥{r.stage} %" if r.stage in STAGES else "")
        listing.append([r.request_no, _("Complaint", lang) if r.kind == "complaint" else _("代办", lang),
                        outlet.name if outlet else r.outlet_code, r.item_name, r.applicant_masked, status_label(r.status, lang),
                        level_label(r.level, lang), r.holder or "—", local_time(r.sla_due_at), stage_text])
        items.append(dict(request_no=r.request_no, level=r.level, stage=r.stage, green=r.priority == "green",
                          outlet_code=r.outlet_code))
    list_table = Table("open_requests", _("Open requests, most urgent first", lang),
                       [_("Request", lang), _("Kind", lang), _("Outlet", lang), _("Item", lang),
                        _("Applicant", lang), _("Status", lang), _("Level", lang), _("Holder", lang),
                        _("Due", lang), _("Deadline", lang)], listing,
                       note=_("At most 200 shown; export the table for all of them.", lang) if limit and len(rows) >= limit else "")
    return [stage_table, status_table, holder_table, list_table], items
