"""好差评 in the console: the distribution of the five levels, how 差评 were handled (rectified and followed up
within their deadline), and the 差评 list with its rectification (整改) and 回访 actions.

The actions call the hub's own evaluation routes as functions (kiosk.hub.evaluations.rectify / revisit), so the
rules and the audit entries are those of the API; the console adds the outlet-subtree check and its own audit."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from fastapi import HTTPException
from sqlalchemy import and_, case, func, select

from kiosk.hub import audit
from kiosk.hub.case_fields import field_cipher
from kiosk.hub.console.periods import ConsoleInputError, Period, Scope, resolve_scope
from kiosk.hub.console.tables import Table, pct
from kiosk.hub.console.web import Viewer, local_time
from kiosk.hub.evaluations import (BAD_LEVELS, RECTIFICATION_STATES, REVISIT_RESULTS, Evaluation,
                                   RectificationIn, RevisitIn, rectify, revisit)
from kiosk.i18n import N_, gettext as _
from kiosk.privacy.masking import scrub

LEVEL_NAMES = {5: N_("Very satisfied"), 4: N_("Satisfied"), 3: N_("Basically satisfied"), 2: N_("Dissatisfied"),
               1: N_("Very dissatisfied")}
DETAIL_NAMES = {"slow": N_("Slow"), "attitude": N_("Attitude"), "guide_unclear": N_("Guide unclear"),
                "asked_again": N_("Asked to come again"), "system_fault": N_("System fault"), "not_done": N_("Not done"),
                "fees": N_("Fees"), "other": N_("Other")}
RECTIFICATION_NAMES = {"none": N_("None"), "open": N_("Open"), "rectifying": N_("Rectifying"),
                       "rectified": N_("Rectified"), "appealed": N_("Appealed")}
REVISIT_NAMES = {"none": N_("None"), "pending": N_("Pending"), "done": N_("Done"), "satisfied": N_("Satisfied"),
                 "unsatisfied": N_("Unsatisfied"), "unreachable": N_("Unreachable")}
LIST_LIMIT = 200
STATES = ("open", "overdue", "all")


def _where(period: Period, scope: Scope):
    conds = [Evaluation.created_at >= period.start_utc, Evaluation.created_at < period.end_utc]
    if scope.codes is not None:
        conds.append(Evaluation.outlet_code.in_(scope.codes))
    return and_(*conds)


def _rectified_in_time():
    return and_(Evaluation.rectification_status.in_(("rectified", "appealed")), Evaluation.rectified_at.is_not(None),
                Evaluation.rectification_due.is_not(None), Evaluation.rectified_at <= Evaluation.rectification_due)


def _revisited_in_time():
    return and_(Evaluation.revisit_status == "done", Evaluation.revisited_at.is_not(None),
                Evaluation.rectification_due.is_not(None), Evaluation.revisited_at <= Evaluation.rectification_due)


def summary_tables(s, period: Period, scope: Scope, lang: str) -> list[Table]:
    where = _where(period, scope)
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    # One pass: per outlet and level, how many, and (for 差评) how many were rectified and followed up in time.
    groups = s.execute(
        select(func.coalesce(Evaluation.outlet_code, ""), Evaluation.level, func.count(), one(_rectified_in_time()),
               one(Evaluation.revisit_status == "done"), one(_revisited_in_time()))
        .where(where).group_by(Evaluation.outlet_code, Evaluation.level)).all()
    counts: dict[int, int] = {}
    per_outlet: dict[str, list[int]] = {}
    for code, level, n, r_ok, v, v_ok in groups:
        counts[level] = counts.get(level, 0) + n
        acc = per_outlet.setdefault(code, [0, 0, 0, 0, 0])
        acc[0] += n
        if level in BAD_LEVELS:
            acc[1] += n
            acc[2] += int(r_ok or 0)
            acc[3] += int(v or 0)
            acc[4] += int(v_ok or 0)
    total = sum(counts.values())
    dist = [[_(LEVEL_NAMES[lv], lang), counts.get(lv, 0), pct(counts.get(lv, 0), total)] for lv in (5, 4, 3, 2, 1)]
    n_bad = sum(a[1] for a in per_outlet.values())
    rect = sum(a[2] for a in per_outlet.values())
    visited = sum(a[3] for a in per_outlet.values())
    visited_ok = sum(a[4] for a in per_outlet.values())
    handling = [[_("Evaluations", lang), total, None], [_("差评 (levels 1 and 2)", lang), n_bad, pct(n_bad, total)],
                [_("差评 rectified within the deadline", lang), rect, pct(rect, n_bad)],
                [_("差评 followed up (回访)", lang), visited, pct(visited, n_bad)],
                [_("差评 followed up within the deadline", lang), visited_ok, pct(visited_ok, n_bad)]]
    by_outlet = []
    for code, (n, b, r_ok, v, _v_ok) in per_outlet.items():
        info = scope.outlets.get(code)
        by_outlet.append([code or "—", info.name if info else "—", n, b, pct(b, n), pct(r_ok, b), pct(v, b)])
    by_outlet.sort(key=lambda r: (-r[3], r[0]))
    return [Table("evaluation_levels", _("好差评 by level", lang),
                  [_("Level", lang), _("Evaluations", lang), _("Share (%)", lang)], dist, chart="bar"),
            Table("evaluation_handling", _("差评 rate and handling", lang),
                  [_("What", lang), _("Count", lang), _("Share (%)", lang)], handling),
            Table("evaluation_by_outlet", _("好差评 by outlet", lang),
                  [_("Outlet code", lang), _("Outlet", lang), _("Evaluations", lang), _("差评", lang),
                   _("差评 rate (%)", lang), _("Rectified in time (%)", lang), _("Followed up (%)", lang)],
                  by_outlet, chart="bar", chart_columns=(3,), label_column=1)]


def bad_review_list(hub, s, period: Period, scope: Scope, lang: str, state: str, export: bool = False) -> tuple[list[Table], list[dict]]:
    """The 差评 of the period, oldest deadline first. The citizen's words are decrypted, passed through the
    personal-data filter and shown as text (the template escapes them: HTML in a review is never markup)."""
    if state and state not in STATES:
        raise ConsoleInputError(_("Unknown filter {value!r}.", lang).format(value=state[:20]),
                                _("Choose open, overdue or all.", lang))
    state = state or "open"
    now = dt.datetime.now(dt.timezone.utc)
    conds = [_where(period, scope), Evaluation.level.in_(BAD_LEVELS)]
    pending = (Evaluation.rectification_status.in_(("none", "open", "rectifying"))) | (Evaluation.revisit_status != "done")
    if state == "open":
        conds.append(pending)
    elif state == "overdue":
        conds += [pending, Evaluation.rectification_due < now]
    q = (select(Evaluation).where(*conds)
         .order_by(Evaluation.rectification_due.is_(None), Evaluation.rectification_due, Evaluation.id))
    rows = s.scalars(q if export else q.limit(LIST_LIMIT)).all()
    cipher = field_cipher(hub) if rows else None
    listing, items = [], []
    for e in rows:
        words = ""
        if e.text_enc:
            try:
                words = scrub(cipher.decrypt_text(e.text_enc, f"evaluations.text:{e.idem_client}:{e.idem_key}"))
            except Exception:  # noqa: BLE001 - one unreadable row must not hide the list
                words = _("(unreadable)", lang)
        info = scope.outlets.get(e.outlet_code or "")
        due = e.rectification_due
        overdue = due is not None and (due if due.tzinfo else due.replace(tzinfo=dt.timezone.utc)) < now
        listing.append([e.id, local_time(e.created_at), info.name if info else (e.outlet_code or "—"), e.item_name or "—",
                        _(LEVEL_NAMES.get(e.level, str(e.level)), lang),
                        "、".join(_(DETAIL_NAMES.get(c, c), lang) for c in e.detail_codes or []), words,
                        e.receipt_no or e.request_no or "—",
                        _(RECTIFICATION_NAMES.get(e.rectification_status, e.rectification_status), lang),
                        local_time(due, "%Y-%m-%d") + (" ⚠" if overdue and e.rectification_status in ("none", "open", "rectifying") else ""),
                        _(REVISIT_NAMES.get(e.revisit_result or e.revisit_status, e.revisit_status), lang)])
        items.append(dict(id=e.id, rectification=e.rectification_status, revisit=e.revisit_status))
    table = Table("bad_reviews", _("差评 to handle", lang),
                  [_("No.", lang), _("When", lang), _("Outlet", lang), _("Item", lang), _("Level", lang),
                   _("Reasons", lang), _("The citizen's words", lang), _("Case or request", lang),
                   _("Rectification", lang), _("Due", lang), _("回访", lang)], listing,
                  note=_("At most 200 shown; export the table for all of them.", lang) if len(rows) >= LIST_LIMIT and not export else "")
    return [table], items


def evaluation_action(hub, viewer: Viewer, evaluation_id: str, action: str, form: dict) -> str:
    lang = viewer.lang
    try:
        eid = int(evaluation_id)
    except ValueError:
        raise ConsoleInputError(_("There is no such evaluation.", lang), "", 404) from None
    if action not in ("rectification", "revisit"):
        raise ConsoleInputError(_("There is no such action.", lang), "", 404)
    with hub.sessions() as s:
        e = s.get(Evaluation, eid)
        if e is None:
            raise ConsoleInputError(_("There is no such evaluation.", lang), "", 404)
        scope, allowed = resolve_scope(s, None, viewer.root_outlet, lang)
        if allowed is not None and e.outlet_code not in allowed:
            raise ConsoleInputError(_("This evaluation belongs to an outlet outside your own area.", lang), "", 403)
    note = str(form.get("note") or "").strip()
    if viewer.role not in ("window", "chief", "leader"):
        raise ConsoleInputError(_("Rectification and 回访 are recorded by window staff, approval chiefs and centre leaders; supervisors read them.", lang),
                                _("Ask the outlet's window staff to record it.", lang), 403)
    shim = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(hub=hub)))
    from kiosk.hub.console.actions import caller_of

    try:
        if action == "rectification":
            status = str(form.get("status") or "")
            if status not in RECTIFICATION_STATES:
                raise ConsoleInputError(_("Choose what the rectification has reached.", lang), "", 422)
            if not note:
                raise ConsoleInputError(_("Describe what was done: the note is kept with the 差评.", lang), "", 422)
            rectify(eid, RectificationIn(status=status, note=note[:1000]), shim, caller_of(viewer))
            message = _("差评 {id}: rectification recorded ({state}).", lang).format(
                id=eid, state=_(RECTIFICATION_NAMES[status], lang))
        else:
            result = str(form.get("result") or "")
            if result not in REVISIT_RESULTS:
                raise ConsoleInputError(_("Choose how the 回访 went.", lang), "", 422)
            revisit(eid, RevisitIn(result=result, note=note[:1000]), shim, caller_of(viewer))
            message = _("差评 {id}: 回访 recorded ({result}).", lang).format(id=eid, result=_(REVISIT_NAMES[result], lang))
    except HTTPException as exc:
        raise ConsoleInputError(str(exc.detail), _("Nothing was changed.", lang), exc.status_code) from None
    with hub.sessions() as s, s.begin():
        audit.record(s, viewer.actor, "evaluation", str(eid), f"console_{action}")
    return message


__all__ = ["summary_tables", "bad_review_list", "evaluation_action", "LEVEL_NAMES", "RECTIFICATION_NAMES", "REVISIT_NAMES"]
