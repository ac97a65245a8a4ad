"""What each console page shows, built from the query string and the viewer: period, outlet subtree, tables.

Every page view and export is written to the audit log with the viewer's name, in the same transaction as the
reads (DESIGN §6); a page that shows personal records names them in the audit detail.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kiosk.hub import audit
from kiosk.hub.console import board, devices, key_projects, rollup, stats
from kiosk.hub.console.periods import (ConsoleInputError, OutletInfo, Period, Scope, parse_month, parse_period,
                                       resolve_scope, today_cst)
from kiosk.hub.console.tables import Table
from kiosk.hub.console.web import Viewer
from kiosk.i18n import N_, gettext as _

VIEWS = ("board", "stats", "evaluations", "devices", "key_projects")
TITLES = {"board": N_("Today's board"), "stats": N_("Statistics"), "evaluations": N_("差评 list"), "devices": N_("Device health"),
          "key_projects": N_("Key projects")}


@dataclass
class View:
    name: str
    title: str
    subtitle: str
    query: dict[str, str]
    tables: list[Table]
    scope: Scope | None = None
    period: Period | None = None
    outlet_choices: list[OutletInfo] = field(default_factory=list)
    file_tag: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)  # board / 差评 rows with their actions
    extra: dict[str, Any] = field(default_factory=dict)


def _scope(s, viewer: Viewer, params: dict) -> tuple[Scope, list[OutletInfo]]:
    scope, allowed = resolve_scope(s, params.get("outlet"), viewer.root_outlet, viewer.lang)
    return scope, scope.choices(allowed)


def _subtitle(scope: Scope, period: Period | None, lang: str) -> str:
    where = scope.label(lang)
    if period is None:
        return where
    return _("{outlet}, {first} to {last}", lang).format(outlet=where, first=period.first, last=period.last)


def build(hub, name: str, viewer: Viewer, params: dict, export: str | None = None) -> View:
    if name not in VIEWS:
        raise ConsoleInputError(_("There is no such page.", viewer.lang), "", 404)
    lang = viewer.lang
    with hub.sessions() as s, s.begin():
        scope, choices = _scope(s, viewer, params)
        query = {"outlet": scope.outlet.code} if scope.outlet and params.get("outlet") else {}
        period = None
        items: list[dict] = []
        extra: dict = {}
        if name == "board":
            tables, items = board.board_tables(s, scope, lang, limit=None if export else board.LIST_LIMIT,
                                               level=viewer.level, actor=viewer.actor)
            extra["can_act"] = viewer.level is not None
            if extra["can_act"] and not export:
                _add_candidates(s, scope, items)
        elif name == "stats":
            period = parse_period(params.get("from"), params.get("to"), lang)
            query.update(period.query())
            parallel = hub.sessions if s.get_bind().dialect.name == "postgresql" else None
            if rollup.usable(s, period):
                rollup.refresh(hub.sessions, limit=rollup.PER_VIEW_DAYS)
            if export is None or export in stats.BUILDERS:
                tables = stats.statistics(s, period, scope, lang, only=export, sessions=parallel)
            else:
                tables = []
            if export is None or export.startswith("evaluation"):
                tables += _evaluation_summary(s, period, scope, lang)
            if export is None or export == "device_summary":
                tables += devices.device_health(s, scope, lang)[:1]
        elif name == "evaluations":
            first = params.get("from") or (today_cst() - dt.timedelta(days=89)).isoformat()  # open 差评 outlive a month
            period = parse_period(first, params.get("to"), lang)
            query.update(period.query())
            tables, items = _evaluations(hub, s, period, scope, lang, params, export)
            extra["can_act"] = viewer.role in ("window", "chief", "leader")
            if params.get("state"):
                query["state"] = params["state"]
        elif name == "key_projects":
            tables = key_projects.open_key_projects(s, scope, lang)
        else:
            tables = devices.device_health(s, scope, lang)
        if export:
            audit.record(s, viewer.actor, "console", name, "export", table=export, outlet=scope.outlet.code if scope.outlet else "*",
                         **({"period": f"{period.first}..{period.last}"} if period else {}))
        else:
            detail: dict[str, Any] = {"outlet": scope.outlet.code if scope.outlet else "*"}
            if period:
                detail["period"] = f"{period.first}..{period.last}"
            shown = [i.get("request_no") or i.get("id") for i in items]
            if shown:
                detail["records"] = [str(x) for x in shown[:500]]
            audit.record(s, viewer.actor, "console", name, "view", **detail)
    tag = (scope.outlet.code if scope.outlet else "all") + (f"-{period.first}-{period.last}" if period else "")
    return View(name, _(TITLES[name], lang), _subtitle(scope, period, lang), query, tables, scope, period, choices,
                tag, items, extra)


def _add_candidates(s, scope: Scope, items: list[dict]) -> None:
    """Whom each listed request may be reassigned to: active outlet staff with a live token, at the request's
    outlet or the outlets above it (a village point's request may go to its town's clerks)."""
    from sqlalchemy import select

    from kiosk.hub.models import ApiToken, Person

    wanted: set[str] = set()
    chains: dict[str, list[str]] = {}
    for item in items:
        code, chain = item["outlet_code"], []
        while code and code not in chain and len(chain) < 6:
            chain.append(code)
            info = scope.outlets.get(code)
            code = info.parent_code if info else None
        chains[item["outlet_code"]] = chain
        wanted.update(chain)
    if not wanted:
        return
    q = (select(Person.id, Person.name, Person.role, Person.outlet_code)
         .where(Person.active.is_(True), Person.outlet_code.in_(wanted),
                Person.role.in_(("clerk", "runner", "window", "chief", "leader")),
                Person.id.in_(select(ApiToken.person_id).where(ApiToken.revoked.is_(False))))
         .order_by(Person.outlet_code, Person.role, Person.name))
    by_outlet: dict[str, list[dict]] = {}
    for pid, name, role, outlet in s.execute(q):
        by_outlet.setdefault(outlet, []).append(dict(id=pid, name=name, role=role, outlet_code=outlet))
    for item in items:
        item["candidates"] = [p for code in chains[item["outlet_code"]] for p in by_outlet.get(code, [])][:40]


def _evaluation_summary(s, period, scope, lang) -> list[Table]:
    try:
        from kiosk.hub.console import evals
    except ImportError:
        return []
    return evals.summary_tables(s, period, scope, lang)


def _evaluations(hub, s, period, scope, lang, params, export) -> tuple[list[Table], list[dict]]:
    try:
        from kiosk.hub.console import evals
    except ImportError:
        return [Table("bad_reviews", _("差评 list", lang), [_("Note", lang)],
                      [[_("This hub has no evaluations yet.", lang)]])], []
    return evals.bad_review_list(hub, s, period, scope, lang, params.get("state") or "", export=bool(export))


def request_detail(app, viewer: Viewer, request_no: str) -> View:
    from kiosk.hub.console import actions

    return actions.request_detail(app, viewer, request_no)


def request_action(app, viewer: Viewer, request_no: str, action: str, form: dict) -> str:
    from kiosk.hub.console import actions

    return actions.request_action(app, viewer, request_no, action, form)


def evaluation_action(hub, viewer: Viewer, evaluation_id: str, action: str, form: dict) -> str:
    try:
        from kiosk.hub.console import evals
    except ImportError:
        raise ConsoleInputError(_("This hub has no evaluations yet.", viewer.lang), "", 404) from None
    return evals.evaluation_action(hub, viewer, evaluation_id, action, form)


def monthly_pdf(hub, viewer: Viewer, params: dict, fonts) -> tuple[bytes, str]:
    """The month's 考核 report: timeliness, volumes by outlet, 好差评 and its handling, workloads, device health."""
    from kiosk.hub.console.report import monthly_report

    lang = viewer.lang
    period = parse_month(params.get("month"), lang)
    if period.first > today_cst():
        raise ConsoleInputError(_("The month {month} has not begun.", lang).format(month=period.first.strftime("%Y-%m")),
                                _("Choose this month or an earlier one.", lang))
    with hub.sessions() as s, s.begin():
        scope, _choices = _scope(s, viewer, params)
        parallel = hub.sessions if s.get_bind().dialect.name == "postgresql" else None
        if rollup.usable(s, period):
            rollup.refresh(hub.sessions, limit=rollup.PER_VIEW_DAYS)
        wanted = ("timeliness", "applications_by_outlet", "requests_by_outlet", "requests_by_level", "workloads")
        by_key = {t.key: t for t in stats.statistics(s, period, scope, lang, sessions=parallel, names=wanted)}
        tables = [by_key[k] for k in ("timeliness", "applications_by_outlet", "requests_by_outlet", "requests_by_level")]
        tables += _evaluation_summary(s, period, scope, lang)
        tables += [by_key["workloads"], devices.device_health(s, scope, lang)[0]]
        audit.record(s, viewer.actor, "console", "report", "export", table="monthly_pdf",
                     outlet=scope.outlet.code if scope.outlet else "*", period=period.first.strftime("%Y-%m"))
    title = _("{outlet} — 考核 report for {month}", lang).format(outlet=scope.label(lang), month=period.first.strftime("%Y-%m"))
    subtitle = _("Period {first} to {last} (China Standard Time)", lang).format(first=period.first, last=period.last)
    body = monthly_report(fonts, title, subtitle, tables, viewer.name, lang)
    name = f"report-{scope.outlet.code if scope.outlet else 'all'}-{period.first.strftime('%Y-%m')}.pdf"
    return body, name


__all__ = ["build", "monthly_pdf", "request_detail", "request_action", "evaluation_action", "VIEWS"]
