"""Statistics for a period and an outlet subtree, each one SQL aggregate (GROUP BY, COUNT, SUM, percentiles).

Applications (cases) reach an outlet through the kiosk that sent them: a kiosk's token is bound to its outlet.
代办 requests carry their outlet. Every table here is a `Table`, rendered as a page, CSV, XLSX or PDF alike.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select

from kiosk.hub.console.periods import Period, Scope
from kiosk.hub.console import rollup
from kiosk.hub.console.sqlbits import (bucket_percentiles, cst_day_key, histogram, histogram_percentiles, key_to_day,
                                         on_or_before_day)
from kiosk.hub.console.tables import Table, hours, pct
from kiosk.hub.models import ApiToken, Case, Outlet, ProxyEvent, ProxyRequest
from kiosk.i18n import gettext as _
from kiosk.proxy_words import CHANNELS, MODES

TOP_ITEMS = 20
LEVEL_ORDER = {"county": 0, "town": 1, "village": 2, "partner": 3}


def level_name(level: str | None, lang: str) -> str:
    names = {"county": _("County centre", lang), "town": _("Town centre", lang),
             "village": _("Village point", lang), "partner": _("Partner outlet", lang)}
    return names.get(level or "", _("Unassigned", lang))


def device_outlets(session) -> dict[str, str]:
    """Each kiosk's outlet, from its newest token bound to one (a kiosk keeps its name across token rotations)."""
    rows = session.execute(select(ApiToken.name, ApiToken.outlet_code).where(ApiToken.role == "kiosk",
                                                                               ApiToken.outlet_code.is_not(None))
                           .order_by(ApiToken.id))
    return {name: outlet for name, outlet in rows}


def _scope_devices(scope: Scope):
    return select(ApiToken.name).where(ApiToken.role == "kiosk", ApiToken.outlet_code.in_(scope.codes))


def _case_filter(session, period: Period, scope: Scope, live_only: bool = False):
    """The period's applications in the subtree; with `live_only`, only those of days not rolled up."""
    conds = [Case.created_at >= period.start_utc, Case.created_at < period.end_utc]
    if live_only:
        conds.append(rollup.raw_where(rollup.split(session, period)[1]))
    if scope.codes is not None:
        conds.append(Case.device_id.in_(_scope_devices(scope)))
    return and_(*conds)


def _rolled(session, period: Period, scope: Scope, table) -> tuple[list[str], list]:
    """The rolled-up days of a long period on PostgreSQL (empty otherwise) and the rollup table's scope filter."""
    if not rollup.usable(session, period):
        return [], []
    days = rollup.split(session, period)[0]
    conds = [table.c.day.in_(days)] if days else []
    if days and scope.codes is not None and "device_id" in table.c:
        conds.append(table.c.device_id.in_(_scope_devices(scope)))
    return days, conds


def _request_filter(period: Period, scope: Scope):
    conds = [ProxyRequest.created_at >= period.start_utc, ProxyRequest.created_at < period.end_utc]
    if scope.codes is not None:
        conds.append(ProxyRequest.outlet_code.in_(scope.codes))
    return and_(*conds)


def _case_in_time(session):
    """A finished application is in time when the platform completed it on or before its promised day (CST)."""
    return and_(Case.platform_status == "completed", Case.promised_by.is_not(None),
                on_or_before_day(session, Case.updated_at, Case.promised_by))


def case_groups(session, period: Period, scope: Scope) -> list[tuple]:
    """One pass over the period's applications: (kiosk, channel, received, finished, in time) per group.
    The outlet, channel and timeliness tables are sums of these few hundred rows; remembered per session."""
    memo = session.info.setdefault("console_case_groups", {})
    key = (period, scope.codes)
    if key not in memo:
        done = Case.platform_status == "completed"
        days, conds = _rolled(session, period, scope, rollup.case_days)
        rows = session.execute(
            select(Case.device_id, Case.channel, func.count(), func.sum(case((done, 1), else_=0)),
                   func.sum(case((_case_in_time(session), 1), else_=0)))
            .where(_case_filter(session, period, scope, live_only=bool(days))).group_by(Case.device_id, Case.channel)).all()
        if days:
            t = rollup.case_days
            rows += session.execute(select(t.c.device_id, t.c.channel, func.sum(t.c.n), func.sum(t.c.finished),
                                           func.sum(t.c.in_time)).where(*conds).group_by(t.c.device_id, t.c.channel)).all()
        merged: dict[tuple, list[int]] = {}
        for device, channel, n, fin, ok in rows:
            acc = merged.setdefault((device, channel), [0, 0, 0])
            acc[0] += int(n or 0)
            acc[1] += int(fin or 0)
            acc[2] += int(ok or 0)
        memo[key] = [(d, c, *v) for (d, c), v in merged.items()]
    return memo[key]


def applications_by_outlet(session, period: Period, scope: Scope, lang: str) -> Table:
    by_device = device_outlets(session)
    totals: dict[str | None, list[int]] = {}
    for device, _channel, n, done, ok in case_groups(session, period, scope):
        acc = totals.setdefault(by_device.get(device), [0, 0, 0])
        acc[0] += n
        acc[1] += int(done or 0)
        acc[2] += int(ok or 0)
    out = []
    for code, (n, done, ok) in totals.items():
        info = scope.outlets.get(code) if code else None
        out.append([code or "—", info.name if info else _("Unassigned kiosk", lang),
                    level_name(info.level if info else None, lang), n, done, ok, pct(ok, done)])
    out.sort(key=lambda r: (-r[3], r[0]))
    return Table("applications_by_outlet", _("Applications by outlet", lang),
                 [_("Outlet code", lang), _("Outlet", lang), _("Level", lang), _("Applications", lang),
                  _("Finished", lang), _("Within promised time", lang), _("Share in time (%)", lang)],
                 out, chart="bar", chart_columns=(3,), label_column=1)


def applications_by_channel(session, period, scope, lang) -> Table:
    channels = {"kiosk": _("Self-service kiosk", lang), "counter": _("Counter", lang)}
    totals: dict[str, int] = {}
    for _device, channel, n, _done, _ok in case_groups(session, period, scope):
        totals[channel] = totals.get(channel, 0) + n
    rows = [[channels.get(c, c), n] for c, n in sorted(totals.items(), key=lambda kv: -kv[1])]
    return Table("applications_by_channel", _("Applications by channel", lang),
                 [_("Channel", lang), _("Count", lang)], rows, chart="bar")


def applications_by_item(session, period, scope, lang) -> Table:
    days, conds = _rolled(session, period, scope, rollup.item_days)
    if days and scope.codes is None:  # the item rollup has no kiosk: whole-network views only
        t = rollup.item_days
        rows = session.execute(select(t.c.item_code, func.max(t.c.item_name), func.sum(t.c.n)).where(*conds)
                               .group_by(t.c.item_code)).all()
        rows += session.execute(select(Case.item_code, func.max(Case.item_name), func.count())
                                .where(_case_filter(session, period, scope, live_only=True)).group_by(Case.item_code)).all()
        merged: dict[str, list] = {}
        for code, name, n in rows:
            acc = merged.setdefault(code, [name, 0])
            acc[1] += int(n or 0)
        top = sorted(([c, v[0], v[1]] for c, v in merged.items()), key=lambda r: (-r[2], r[0]))[:TOP_ITEMS]
    else:
        q = (select(Case.item_code, func.max(Case.item_name), func.count().label("n"))
             .where(_case_filter(session, period, scope)).group_by(Case.item_code).order_by(func.count().desc()).limit(TOP_ITEMS))
        top = [[code, name, n] for code, name, n in session.execute(q)]
    return Table("applications_by_item", _("Applications by item (top 20)", lang),
                 [_("Item code", lang), _("Item", lang), _("Count", lang)], top, chart="bar",
                 chart_columns=(2,), label_column=1)


def daily_volume(session, period: Period, scope: Scope, lang: str) -> Table:
    """Applications and 代办 requests per day: the line chart of the statistics page."""
    cday = cst_day_key(session, Case.created_at)
    days, conds = _rolled(session, period, scope, rollup.case_days)
    cases = {key_to_day(k): n for k, n in
             session.execute(select(cday, func.count()).where(_case_filter(session, period, scope, live_only=bool(days)))
                             .group_by(cday))}
    if days:
        t = rollup.case_days
        cases.update({d: int(n) for d, n in session.execute(select(t.c.day, func.sum(t.c.n)).where(*conds).group_by(t.c.day))})
    rday = cst_day_key(session, ProxyRequest.created_at)
    reqs = {key_to_day(k): n for k, n in
            session.execute(select(rday, func.count()).where(_request_filter(period, scope)).group_by(rday))}
    rows = []
    day = period.first
    while day <= period.last:
        key = day.isoformat()
        rows.append([key, int(cases.get(key, 0)), int(reqs.get(key, 0))])
        day += dt.timedelta(days=1)
    return Table("daily_volume", _("Daily volume", lang),
                 [_("Day", lang), _("Applications", lang), _("代办 requests", lang)], rows,
                 chart="line", chart_columns=(1, 2))


# -- 代办 requests -------------------------------------------------------------------------------------------


def _request_finished():
    """The outlet's part is done when the SLA clock stopped at `filed` or `done` (not cancelled or refused)."""
    return and_(ProxyRequest.sla_stopped_at.is_not(None), ProxyRequest.status.in_(("filed", "done")))


def _request_in_time():
    return and_(_request_finished(), ProxyRequest.sla_stopped_at <= ProxyRequest.sla_due_at)


def request_groups(session, period: Period, scope: Scope) -> list[tuple]:
    """One pass over the period's 代办 requests: (outlet, channel, mode, item, item name, received, finished,
    in time, escalated) per group; the five request tables and the timeliness row are sums of these rows."""
    memo = session.info.setdefault("console_request_groups", {})
    key = (period, scope.codes)
    if key not in memo:
        r = ProxyRequest
        memo[key] = [tuple(row) for row in session.execute(
            select(r.outlet_code, r.channel, r.mode, r.item_code, func.max(r.item_name), func.count(),
                   func.sum(case((_request_finished(), 1), else_=0)), func.sum(case((_request_in_time(), 1), else_=0)),
                   func.sum(case((r.level > 0, 1), else_=0)))
            .where(_request_filter(period, scope)).group_by(r.outlet_code, r.channel, r.mode, r.item_code))]
    return memo[key]


def request_percentiles(session, period: Period, scope: Scope) -> list[float | None]:
    memo = session.info.setdefault("console_request_percentiles", {})
    key = (period, scope.codes)
    if key not in memo:
        memo[key] = bucket_percentiles(session, and_(_request_filter(period, scope), _request_finished()),
                                       ProxyRequest.created_at, ProxyRequest.sla_stopped_at)
    return memo[key]


def _sum_by(groups, index, *values) -> dict:
    out: dict = {}
    for g in groups:
        acc = out.setdefault(g[index], [0] * len(values))
        for k, v in enumerate(values):
            acc[k] += int(g[v] or 0)
    return out


def requests_by_outlet(session, period, scope, lang) -> Table:
    rows = []
    for code, (n, done, ok, escalated) in _sum_by(request_groups(session, period, scope), 0, 5, 6, 7, 8).items():
        info = scope.outlets.get(code)
        rows.append([code, info.name if info else code, level_name(info.level if info else None, lang), n,
                     done, ok, pct(ok, done), escalated])
    rows.sort(key=lambda r: (-r[3], r[0]))
    return Table("requests_by_outlet", _("代办 requests by outlet", lang),
                 [_("Outlet code", lang), _("Outlet", lang), _("Level", lang), _("Requests", lang),
                  _("Finished", lang), _("Within promised time", lang), _("Share in time (%)", lang),
                  _("Escalated", lang)], rows, chart="bar", chart_columns=(3,), label_column=1)


def requests_by_level(session, period, scope, lang) -> Table:
    levels: dict[str | None, int] = {}
    for code, (n,) in _sum_by(request_groups(session, period, scope), 0, 5).items():
        info = scope.outlets.get(code)
        lv = info.level if info else None
        levels[lv] = levels.get(lv, 0) + n
    rows = sorted(([level_name(lv, lang), n, LEVEL_ORDER.get(lv or "", 9)] for lv, n in levels.items()), key=lambda r: r[2])
    return Table("requests_by_level", _("代办 requests by outlet level", lang),
                 [_("Level", lang), _("Requests", lang)], [r[:2] for r in rows], chart="bar")




def _counted(groups, index, names, lang) -> list[list]:
    totals = _sum_by(groups, index, 5)
    return [[_(names[k], lang) if k in names else (k or "—"), n] for k, (n,) in sorted(totals.items(), key=lambda kv: -kv[1][0])]


def requests_by_channel(session, period, scope, lang) -> Table:
    return Table("requests_by_channel", _("代办 requests by channel", lang), [_("Channel", lang), _("Count", lang)],
                 _counted(request_groups(session, period, scope), 1, CHANNELS, lang), chart="bar")


def requests_by_mode(session, period, scope, lang) -> Table:
    return Table("requests_by_mode", _("代办 requests by mode", lang), [_("Mode", lang), _("Count", lang)],
                 _counted(request_groups(session, period, scope), 2, MODES, lang), chart="bar")


def requests_by_item(session, period, scope, lang) -> Table:
    names: dict[str, str] = {}
    for g in request_groups(session, period, scope):
        names.setdefault(g[3], g[4])
    totals = _sum_by(request_groups(session, period, scope), 3, 5)
    rows = sorted(([code or "—", names.get(code) or "—", n] for code, (n,) in totals.items()), key=lambda r: (-r[2], r[0]))
    return Table("requests_by_item", _("代办 requests by item (top 20)", lang),
                 [_("Item code", lang), _("Item", lang), _("Count", lang)], rows[:TOP_ITEMS], chart="bar",
                 chart_columns=(2,), label_column=1)


def case_percentiles(session, period: Period, scope: Scope) -> list[float | None]:
    memo = session.info.setdefault("console_case_percentiles", {})
    key = (period, scope.codes)
    if key not in memo:
        days, conds = _rolled(session, period, scope, rollup.duration_days)
        done = Case.platform_status == "completed"
        if days and scope.codes is None:  # the duration rollup has no kiosk: whole-network views only
            t = rollup.duration_days
            rows = session.execute(select(t.c.bucket, func.sum(t.c.n)).where(*conds).group_by(t.c.bucket)).all()
            rows += histogram(session, and_(_case_filter(session, period, scope, live_only=True), done),
                              Case.created_at, Case.updated_at)
            memo[key] = histogram_percentiles(rows)
        else:
            memo[key] = bucket_percentiles(session, and_(_case_filter(session, period, scope), done),
                                           Case.created_at, Case.updated_at)
    return memo[key]


def timeliness(session, period: Period, scope: Scope, lang: str) -> Table:
    """Share finished within the promised time, and the median and 90th percentile of the time to finish."""
    groups = case_groups(session, period, scope)
    n = sum(g[2] for g in groups)
    finished = sum(int(g[3] or 0) for g in groups)
    ok = sum(int(g[4] or 0) for g in groups)
    med, p90 = case_percentiles(session, period, scope)
    rgroups = request_groups(session, period, scope)
    rn = sum(int(g[5] or 0) for g in rgroups)
    rfin = sum(int(g[6] or 0) for g in rgroups)
    rok = sum(int(g[7] or 0) for g in rgroups)
    rmed, rp90 = request_percentiles(session, period, scope)
    rows = [[_("Applications", lang), n, int(finished or 0), int(ok or 0), pct(ok, finished), hours(med), hours(p90)],
            [_("代办 requests", lang), rn, int(rfin or 0), int(rok or 0), pct(rok, rfin), hours(rmed), hours(rp90)]]
    return Table("timeliness", _("Finished within the promised time", lang),
                 [_("What", lang), _("Received", lang), _("Finished", lang),
                  _("Within promised time", lang), _("Share in time (%)", lang),
                  _("Median time to finish (h)", lang), _("90th percentile (h)", lang)], rows)


def workloads(session, period: Period, scope: Scope, lang: str) -> Table:
    """Per member of staff: actions on 代办 requests in the period, requests finished, and what they hold now."""
    ev_where = [ProxyEvent.at >= period.start_utc, ProxyEvent.at < period.end_utc]
    if scope.codes is not None:
        ev_where.append(ProxyEvent.request_id.in_(select(ProxyRequest.id).where(ProxyRequest.outlet_code.in_(scope.codes))))
    acted = session.execute(
        select(ProxyEvent.actor, func.count(), func.sum(case((ProxyEvent.action == "claimed", 1), else_=0)),
               func.sum(case((ProxyEvent.action == "escalated", 1), else_=0)))
        .where(*ev_where).group_by(ProxyEvent.actor)).all()
    from kiosk.hub.console.board import OPEN_STATES

    hold_where = [ProxyRequest.status.in_(OPEN_STATES), ProxyRequest.holder.is_not(None)]
    if scope.codes is not None:
        hold_where.append(ProxyRequest.outlet_code.in_(scope.codes))
    holding = dict(session.execute(select(ProxyRequest.holder, func.count()).where(*hold_where)
                                   .group_by(ProxyRequest.holder)).all())
    rows: dict[str, list] = {}
    for actor, actions, requests, escalations in acted:
        if actor.split(":", 1)[0] in ("kiosk", "channel", "system", "platform"):
            continue
        rows[actor] = [actor.split(":", 1)[0], actor.split(":", 1)[-1], actions, requests, int(escalations or 0), 0]
    for actor, n in holding.items():
        rows.setdefault(actor, [actor.split(":", 1)[0], actor.split(":", 1)[-1], 0, 0, 0, 0])[5] = n
    out = sorted(rows.values(), key=lambda r: (-r[2], r[1]))
    return Table("workloads", _("Staff workloads", lang),
                 [_("Role", lang), _("Name", lang), _("Actions", lang), _("Requests taken", lang),
                  _("Escalations", lang), _("Holding now", lang)], out, chart="bar", chart_columns=(3,), label_column=1)


ORDER = ("timeliness", "daily_volume", "applications_by_outlet", "applications_by_channel", "applications_by_item",
         "requests_by_outlet", "requests_by_level", "requests_by_channel", "requests_by_mode", "requests_by_item", "workloads")
BUILDERS = {name: globals()[name] for name in ORDER}


def statistics(session, period: Period, scope: Scope, lang: str, only: str | None = None, sessions=None,
               names: tuple[str, ...] = ORDER) -> list[Table]:
    """The statistics page's tables (or just `only`). With `sessions` (PostgreSQL), the independent scans run
    at once on their own connections — each is one aggregate; together they finish in the time of the longest."""
    names = [only] if only else list(names)
    if only and only not in BUILDERS:
        return []
    if sessions is None or only:
        return [BUILDERS[n](session, period, scope, lang) for n in names]
    from concurrent.futures import ThreadPoolExecutor

    def in_own_session(fn):
        with sessions() as s:
            return fn(s)

    heavy = {"groups": lambda s: case_groups(s, period, scope), "pct": lambda s: case_percentiles(s, period, scope),
             "rgroups": lambda s: request_groups(s, period, scope), "rpct": lambda s: request_percentiles(s, period, scope)}
    light = [n for n in ("daily_volume", "applications_by_item", "workloads") if n in names]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="console-stats") as pool:
        futures = {k: pool.submit(in_own_session, fn) for k, fn in heavy.items()}
        futures.update({n: pool.submit(in_own_session, lambda s, n=n: BUILDERS[n](s, period, scope, lang)) for n in light})
        results = {k: f.result() for k, f in futures.items()}
    key = (period, scope.codes)
    for memo, name in (("console_case_groups", "groups"), ("console_case_percentiles", "pct"),
                       ("console_request_groups", "rgroups"), ("console_request_percentiles", "rpct")):
        session.info.setdefault(memo, {})[key] = results.pop(name)
    for n in names:
        if n not in results:
            results[n] = BUILDERS[n](session, period, scope, lang)
    return [results[n] for n in names]


__all__ = ["statistics", "device_outlets", "level_name", "BUILDERS", "ORDER"]
