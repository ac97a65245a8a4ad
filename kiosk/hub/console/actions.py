"""What a console user does to a 代办 request — reassign, escalate — and the request's detail page. Every change
goes through the hub's 代办 service (kiosk.hub.proxy_service), exactly as the API's would, so the same rules
decide who may do it and the same request events record it; the console adds an audit entry with the viewer."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kiosk.hub import audit
from kiosk.hub.auth import Caller
from kiosk.hub.console.board import level_label, status_label
from kiosk.hub.console.periods import ConsoleInputError, resolve_scope
from kiosk.hub.console.tables import Table
from kiosk.hub.console.web import Viewer, local_time
from kiosk.hub.models import ApiToken, Person, ProxyRequest
from kiosk.i18n import gettext as _

MAX_REASON = 200


def _service(hub_app_state):
    proxy = getattr(hub_app_state, "proxy", None)
    if proxy is None:
        raise ConsoleInputError("the 代办 service is not running on this hub", "", 503)
    return proxy


def caller_of(viewer: Viewer) -> Caller:
    return Caller(viewer.token_id, viewer.role, viewer.name, viewer.outlet_code, viewer.person_id)


def _aware(value):
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _refused(exc, lang: str) -> ConsoleInputError:
    return ConsoleInputError(str(getattr(exc, "detail", exc)),
                             _("Nothing was changed. The rules are those of the 代办 API (docs/proxy-api.md).", lang),
                             status=getattr(exc, "status_code", 400))


def _request_id(hub, request_no: str, lang: str) -> int:
    with hub.sessions() as s:
        rid = s.scalar(select(ProxyRequest.id).where(ProxyRequest.request_no == request_no))
    if rid is None:
        raise ConsoleInputError(_("There is no 代办 request {no}.", lang).format(no=request_no[:40]),
                                _("It may have been mistyped; open it from the board.", lang), 404)
    return rid


def _reason(form: dict, lang: str) -> str:
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise ConsoleInputError(_("Give a reason: it is recorded with the request and told to the next level.", lang),
                                _("Write a short reason and send the form again.", lang), 422)
    if len(reason) > MAX_REASON or any(ord(ch) < 32 for ch in reason):
        raise ConsoleInputError(_("The reason must be one line of at most {n} characters.", lang).format(n=MAX_REASON),
                                _("Shorten it and send the form again.", lang), 422)
    return reason


def _target(hub, raw: str, lang: str) -> tuple[Caller, str]:
    """The person a request is handed to, acting through their newest live token (their own identity)."""
    try:
        pid = int(str(raw).strip())
    except ValueError:
        raise ConsoleInputError(_("Choose the person to hand the request to.", lang), "", 422) from None
    now = dt.datetime.now(dt.timezone.utc)
    with hub.sessions() as s:
        person = s.get(Person, pid)
        tokens = s.scalars(select(ApiToken).where(ApiToken.person_id == pid, ApiToken.revoked.is_(False))
                           .order_by(ApiToken.id.desc())).all()
    live = [t for t in tokens if _aware(t.expires_at) is None or _aware(t.expires_at) > now]
    if person is None or not person.active or not live:
        raise ConsoleInputError(_("That person cannot take requests (unknown, inactive or without a valid token).", lang),
                                _("Choose somebody else from the list.", lang), 422)
    t = live[0]
    return Caller(t.id, t.role, t.name, t.outlet_code, t.person_id), person.name


def request_action(hub_app, viewer: Viewer, request_no: str, action: str, form: dict) -> str:
    from kiosk.hub.proxy_schemas import ClaimIn, EscalationIn, TransitionIn
    from kiosk.hub.proxy_service import POOL, ProxyError

    hub, lang = hub_app.state.hub, viewer.lang
    proxy = _service(hub_app.state)
    if action not in ("reassign", "escalate"):
        raise ConsoleInputError(_("There is no such action.", lang), "", 404)
    rid = _request_id(hub, request_no, lang)
    reason = _reason(form, lang)
    me = caller_of(viewer)
    device = f"console:{viewer.actor}"[:64]
    try:
        if action == "escalate":
            direction = "down" if form.get("direction") == "down" else "up"
            doc = proxy.escalate(me, rid, EscalationIn(direction=direction, reason=reason), device=device)
            with hub.sessions() as s, s.begin():
                audit.record(s, viewer.actor, "proxy_request", request_no, "console_escalate", direction=direction,
                             level=doc["level"], reason=reason)
            return _("Request {no} is now at level {level}.", lang).format(no=request_no, level=level_label(doc["level"], lang))
        target, target_name = _target(hub, form.get("person", ""), lang)
        with hub.sessions() as s:  # read, then let go: the service opens its own sessions (SQLite has one writer)
            req = s.get(ProxyRequest, rid)
            s.expunge(req)
        status, level, holder = req.status, req.level, req.holder
        # Only the level that owns a request hands it on (the API's `release` rule); the new holder must be
        # able to see it at its level (the API's claim rule) — both checked before anything changes.
        if viewer.level is None or level < 1 or viewer.level != level:
            raise ConsoleInputError(
                _("Only the level that owns request {no} ({level}) may reassign it.", lang)
                .format(no=request_no, level=level_label(level, lang)),
                _("Escalate it to that level first, or ask the person at that level.", lang), 403)
        proxy.visible(me, req)
        proxy.visible(target, req)
        if target.actor == holder:
            raise ConsoleInputError(_("{name} already holds request {no}.", lang).format(name=target_name, no=request_no), "", 409)
        if status not in POOL:
            proxy.transition(me, rid, TransitionIn(action="release", note=reason), device=device)
        doc = proxy.claim(target, ClaimIn(id=rid), device=device)
        with hub.sessions() as s, s.begin():
            audit.record(s, viewer.actor, "proxy_request", request_no, "console_reassign", from_holder=holder or "",
                         to_holder=target.actor, reason=reason)
        return _("Request {no} is now held by {name}.", lang).format(no=request_no, name=doc["holder"])
    except ProxyError as exc:
        raise _refused(exc, lang) from None
    except ValueError as exc:  # the service's own input checks (pydantic)
        raise ConsoleInputError(str(exc).splitlines()[0], "", 422) from None


def request_detail(hub_app, viewer: Viewer, request_no: str):
    """One request with its events, masked; the view is audited (a personal record)."""
    from kiosk.hub.console.views import View
    from kiosk.hub.proxy_service import ProxyError

    hub, lang = hub_app.state.hub, viewer.lang
    proxy = _service(hub_app.state)
    rid = _request_id(hub, request_no, lang)
    try:
        doc = proxy.detail(caller_of(viewer), rid)
    except ProxyError as exc:
        raise _refused(exc, lang) from None
    with hub.sessions() as s, s.begin():
        scope, _allowed = resolve_scope(s, None, viewer.root_outlet, lang)
        audit.record(s, viewer.actor, "proxy_request", request_no, "console_view")
    applicant = doc.get("applicant") or {}
    who = applicant.get("name") or applicant.get("org_name") or ""
    facts = [(_("Request", lang), doc["request_no"]), (_("Item", lang), doc.get("item_name") or "—"),
             (_("Applicant", lang), who), (_("ID number", lang), applicant.get("id_number") or applicant.get("uscc") or ""),
             (_("Phone", lang), doc.get("contact_phone") or ""), (_("Address", lang), doc.get("address") or ""),
             (_("The citizen's words", lang), doc.get("details") or ""),
             (_("Status", lang), status_label(doc["status"], lang)), (_("Level", lang), level_label(doc["level"], lang)),
             (_("Holder", lang), doc.get("holder") or "—"),
             (_("Due", lang), local_time(dt.datetime.fromisoformat(doc["sla_due_at"])) if doc.get("sla_due_at") else ""),
             (_("Share of the promised time used (%)", lang), doc.get("sla", {}).get("percent"))]
    events = Table("events", _("What happened", lang),
                   [_("When", lang), _("Who", lang), _("Action", lang), _("Level", lang), _("Note", lang)],
                   [[local_time(dt.datetime.fromisoformat(e["at"])) if e.get("at") else "", e["actor"], e["action"],
                     e.get("level"), e.get("note") or ""] for e in doc.get("events", [])])
    return View("request", _("代办 request {no}", lang).format(no=request_no), "", {}, [events], scope,
                extra={"facts": facts, "doc": doc})
