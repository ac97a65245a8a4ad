"""好差评: evaluations from kiosks and counters, their upload to the platform, and the 差评 follow-up (整改 and
回访); plus the citizen's own lookup at a kiosk (进度查询 by card or receipt number: cases and 代办 requests).

Rules (domain reference §4.1): five levels, 5 = 非常满意 … 1 = 非常不满意 (the live APIs' direction); a 差评 (1 or 2)
needs detail codes or words; one evaluation per case plus an optional second (`assess_number` 2), a third is
refused; the kiosk's channel code is 5, a counter's 4. The upload carries the 代理人 fields when the case was filed
through a 代办 request with a 委托书 agent. A 差评 opens a rectification due in 15 working days and a 回访.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import JSON, Boolean, DateTime, Integer, LargeBinary, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated, require_roles
from kiosk.hub.case_fields import field_cipher
from kiosk.hub.models import Base, Case, ProxyMandate, ProxyRequest, utcnow
from kiosk.hub.threads import platform_calls
from kiosk.platform.adapter import PlatformError
from kiosk.privacy.masking import mask_document_number, mask_name

log = logging.getLogger("kiosk.hub.evaluations")

CHANNELS = {"kiosk": "5", "clerk": "4"}  # 政务大厅其他终端 = 5, 政务大厅平板电脑 = 4
BAD_LEVELS = (1, 2)
RECTIFY_WORKING_DAYS = 15
# Detail codes of a 差评 (after GB/T 39734 App. A's themes; the province maps them to its own codes).
DETAIL_CODES = ("slow", "attitude", "guide_unclear", "asked_again", "system_fault", "not_done", "fees", "other")
RECTIFICATION_STATES = ("open", "rectifying", "rectified", "appealed")
REVISIT_RESULTS = ("satisfied", "unsatisfied", "unreachable")
STAFF_ROLES = ("window", "chief", "leader")

router = APIRouter(prefix="/api/v1", tags=["evaluations"], dependencies=[Depends(authenticated)])


class Evaluation(Base):
    """One 好差评 of a case (or of a 代办 request), its upload to the platform and its 差评 follow-up."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("idem_client", "idem_key", name="uq_evaluations_idem"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idem_client: Mapped[str] = mapped_column(String(100))
    idem_key: Mapped[str] = mapped_column(String(200))
    receipt_no: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    request_no: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    case_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_code: Mapped[str] = mapped_column(String(64), default="")
    item_name: Mapped[str] = mapped_column(String(200), default="")
    outlet_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    level: Mapped[int] = mapped_column(Integer)
    detail_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the citizen's words (encrypted)
    channel: Mapped[str] = mapped_column(String(4))
    assess_number: Mapped[int] = mapped_column(Integer, default=1)
    proxied: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # 代理人 {name, id_number, card_type}
    agent_masked: Mapped[str | None] = mapped_column(String(120), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    upload_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | uploaded | failed | local
    upload_attempts: Mapped[int] = mapped_column(Integer, default=0)
    upload_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    platform_evaluation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rectification_status: Mapped[str] = mapped_column(String(16), default="none")  # none | open | … (above)
    rectification_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rectification_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    rectified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rectified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revisit_status: Mapped[str] = mapped_column(String(16), default="none")  # none | pending | done
    revisit_result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    revisit_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    revisited_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revisited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: Short | None = None
    request_no: Short | None = None
    level: int = Field(ge=1, le=5)
    detail_codes: list[str] = Field(default_factory=list, max_length=len(DETAIL_CODES))
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    evaluated_at: str | None = None


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=40)] | None = None
    receipt_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)] | None = None


class RectificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RevisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value is not None else None


# -- the citizen's lookup at the kiosk --------------------------------------------------------
def _proxy_requests_of_card(hub, s, id_number: str) -> list[ProxyRequest]:
    """代办 requests (and 办不成事 reports) of the holder of `id_number`, confirmed on the decrypted applicant."""
    number = id_number.strip().upper()
    masked = mask_document_number(number) or ""
    found = []
    cipher = field_cipher(hub)
    rows = s.scalars(select(ProxyRequest).where(ProxyRequest.applicant_masked.contains(masked))
                     .order_by(ProxyRequest.id.desc()).limit(500))
    for req in rows:
        try:
            applicant = cipher.decrypt_json(req.applicant_enc, "proxy_requests.applicant")
        except Exception:
            continue
        if str(applicant.get("id_number", "")).upper() == number:
            found.append(req)
        if len(found) >= 20:
            break
    return found


def _case_doc(hub, s, case: Case) -> dict:
    history: list[dict] = []
    if hub.platform is not None and case.case_no:
        try:
            status = hub.platform.query_status(case.case_no)
            history = [{"at": h.get("at"), "status": h.get("status"), "note": h.get("note", "")}
                       for h in status.get("history") or []]
            if status.get("status") and status["status"] != "draft":
                case.platform_status = status["status"]
        except PlatformError as exc:  # the platform away: the last known status stands
            log.warning("platform status of %s unavailable: %s", case.case_no, exc.message)
    count = s.scalar(select(func.count(Evaluation.id)).where(Evaluation.receipt_no == case.receipt_no)) or 0
    proxied = s.scalar(select(func.count(ProxyRequest.id)).where(ProxyRequest.receipt_no == case.receipt_no)) or 0
    return {"kind": "case", "receipt_no": case.receipt_no, "case_no": case.case_no, "item_code": case.item_code,
            "item_name": case.item_name, "submitted_at": case.submitted_at, "promised_by": case.promised_by,
            "status": case.platform_status or ("submitted" if case.status == "submitted" else case.status),
            "relay_status": case.status, "history": history, "evaluations": count, "proxied": bool(proxied),
            "channel": case.channel, "device_id": case.device_id}


def _request_doc(s, req: ProxyRequest) -> dict:
    count = s.scalar(select(func.count(Evaluation.id)).where(Evaluation.request_no == req.request_no)) or 0
    return {"kind": req.kind, "request_no": req.request_no, "item_code": req.item_code, "item_name": req.item_name,
            "mode": req.mode, "status": req.status, "level": req.level, "created_at": _iso(req.created_at),
            "sla_due_at": _iso(req.sla_due_at), "closed_at": _iso(req.closed_at), "receipt_no": req.receipt_no,
            "reason": req.reason, "evaluations": count, "outlet": req.outlet_code}


def _receipt_from(text: str) -> str:
    """A receipt or request number typed in, or the tracking URL a receipt's QR carries (…?r=<number>)."""
    text = text.strip()
    if "r=" in text:
        from urllib.parse import parse_qs, urlparse

        values = parse_qs(urlparse(text).query).get("r")
        if values:
            return values[0].strip()
    return text


@router.post("/citizen/lookup")
@platform_calls
def citizen_lookup(body: LookupIn, request: Request, caller: Caller = Depends(require_roles("kiosk"))):
    """The citizen's own cases and 代办 requests at a kiosk: by the ID card on the reader (every one of theirs),
    or by one receipt / request number (typed, or from the receipt's QR). Personal fields never leave."""
    from kiosk.hub.counter import _cases_of_card

    hub = request.app.state.hub
    if not body.id_number and not body.receipt_no:
        raise HTTPException(422, "give the ID number read from the card or a receipt number")
    with hub.sessions() as s, s.begin():
        if body.id_number:
            cases = _cases_of_card(hub, s, body.id_number)
            requests = _proxy_requests_of_card(hub, s, body.id_number)
            by = "card"
        else:
            number = _receipt_from(body.receipt_no)
            cases = list(s.scalars(select(Case).where(Case.receipt_no == number)))
            requests = list(s.scalars(select(ProxyRequest).where(ProxyRequest.request_no == number)))
            by = "receipt"
        results = [_case_doc(hub, s, c) for c in cases] + [_request_doc(s, r) for r in requests]
        audit.record(s, caller.actor, "citizen", by, "lookup", found=len(results))
    upload_pending(hub)  # evaluations whose case has reached the platform since
    return {"results": results}


# -- evaluations --------------------------------------------------------------------------------
def _agent_of(hub, s, receipt_no: str | None, request: ProxyRequest | None) -> tuple[bool, dict | None]:
    """(proxied, 代理人 {name, id_number, card_type} or None) for a case filed through a 代办 request."""
    req = request
    if req is None and receipt_no:
        req = s.scalar(select(ProxyRequest).where(ProxyRequest.receipt_no == receipt_no).order_by(ProxyRequest.id.desc()))
    if req is None or req.kind != "proxy":
        return False, None
    mandate = s.scalar(select(ProxyMandate).where(ProxyMandate.request_id == req.id, ProxyMandate.agent_enc.is_not(None))
                       .order_by(ProxyMandate.id.desc()))
    if mandate is None:
        return True, None
    try:
        return True, field_cipher(hub).decrypt_json(mandate.agent_enc, "proxy_mandates.agent")
    except Exception:
        log.warning("mandate %s agent unreadable", mandate.id)
        return True, None


def _rectify_due(hub, start: dt.datetime) -> dt.datetime:
    try:
        from kiosk.hub.business_calendar import BusinessCalendar

        return BusinessCalendar().due(start, RECTIFY_WORKING_DAYS)
    except Exception:  # no calendar package: count Monday to Friday
        day, left = start, RECTIFY_WORKING_DAYS
        while left:
            day += dt.timedelta(days=1)
            left -= day.weekday() < 5
        return day


def _doc(hub, e: Evaluation, unmasked: bool = False) -> dict:
    cipher = field_cipher(hub)
    text = cipher.decrypt_text(e.text_enc, f"evaluations.text:{e.idem_client}:{e.idem_key}") if e.text_enc else ""
    return {"id": e.id, "receipt_no": e.receipt_no, "request_no": e.request_no, "case_no": e.case_no,
            "item_code": e.item_code, "item_name": e.item_name, "outlet_code": e.outlet_code, "level": e.level,
            "bad": e.level in BAD_LEVELS, "detail_codes": e.detail_codes, "text": text, "channel": e.channel,
            "assess_number": e.assess_number, "proxied": e.proxied, "agent": e.agent_masked,
            "device_id": e.device_id, "created_by": e.created_by, "created_at": _iso(e.created_at),
            "upload_state": e.upload_state, "upload_error": e.upload_error, "uploaded_at": _iso(e.uploaded_at),
            "rectification": {"status": e.rectification_status, "due": _iso(e.rectification_due),
                              "note": e.rectification_note, "by": e.rectified_by, "at": _iso(e.rectified_at)},
            "revisit": {"status": e.revisit_status, "result": e.revisit_result, "note": e.revisit_note,
                        "by": e.revisited_by, "at": _iso(e.revisited_at)}}


def upload_pending(hub, limit: int = 20) -> int:
    """Upload evaluations whose case has its 办件编号 to the platform; returns how many went. Safe to call often:
    each row is taken in its own transaction and a failure is kept for the next call."""
    if hub.platform is None:
        return 0
    sent = 0
    with hub.sessions() as s:
        ids = list(s.scalars(select(Evaluation.id).where(Evaluation.upload_state == "pending").order_by(Evaluation.id)
                             .limit(limit)))
    for eid in ids:
        with hub.sessions() as s, s.begin():
            e = s.get(Evaluation, eid)
            if e is None or e.upload_state != "pending":
                continue
            case = s.scalar(select(Case).where(Case.receipt_no == e.receipt_no)) if e.receipt_no else None
            if case is None and e.request_no:
                req = s.scalar(select(ProxyRequest).where(ProxyRequest.request_no == e.request_no))
                if req is not None and req.receipt_no:
                    case = s.scalar(select(Case).where(Case.receipt_no == req.receipt_no))
                elif req is not None and req.status in ("done", "cancelled", "refused"):
                    e.upload_state = "local"  # a 代办 request that never became a case: the hub keeps it
                    continue
            if case is None or not case.case_no:
                continue  # the case has not reached the platform yet
            e.case_no = case.case_no
            doc = {"level": e.level, "channel": e.channel, "assess_number": e.assess_number,
                   "detail_codes": e.detail_codes, "proxied": e.proxied}
            if e.text_enc:
                doc["text"] = field_cipher(hub).decrypt_text(e.text_enc, f"evaluations.text:{e.idem_client}:{e.idem_key}")
            elif e.level in BAD_LEVELS:
                doc["text"] = ",".join(e.detail_codes)
            if e.agent_enc:
                agent = field_cipher(hub).decrypt_json(e.agent_enc, f"evaluations.agent:{e.idem_client}:{e.idem_key}")
                doc.update(handle_user_name=agent.get("name"), handle_user_page_type=agent.get("card_type") or "111",
                           handle_user_page_code=agent.get("id_number"))
            e.upload_attempts += 1
            try:
                answer = hub.platform.upload_evaluation(case.case_no, doc)
            except PlatformError as exc:
                e.upload_error = exc.message[:500]
                if exc.status is not None and 400 <= exc.status < 500:
                    e.upload_state = "failed"  # refused (a third evaluation, …): kept for the console
                continue
            e.upload_state, e.uploaded_at, e.upload_error = "uploaded", utcnow(), None
            e.platform_evaluation_id = str(answer.get("evaluation_id") or "")
            audit.record(s, "hub:evaluations", "evaluation", str(e.id), "uploaded", case_no=case.case_no)
            sent += 1
    return sent


@router.post("/evaluations", status_code=201)
@platform_calls
def create_evaluation(body: EvaluationIn, request: Request,
                      caller: Caller = Depends(require_roles("kiosk", "clerk", "runner", "window")),
                      idempotency_key: str | None = Header(default=None)):
    """One 好差评. `Idempotency-Key` (required) makes a retry from the kiosk's outbox answer the same row (200)."""
    hub = request.app.state.hub
    if not idempotency_key or len(idempotency_key) > 200:
        raise HTTPException(400, "send an Idempotency-Key header (at most 200 characters)")
    if bool(body.receipt_no) == bool(body.request_no):
        raise HTTPException(422, "give either receipt_no (a case) or request_no (a 代办 request)")
    unknown = [c for c in body.detail_codes if c not in DETAIL_CODES]
    if unknown:
        raise HTTPException(422, f"unknown detail codes {unknown}; use {list(DETAIL_CODES)}")
    if body.level in BAD_LEVELS and not body.detail_codes and not body.text:
        raise HTTPException(422, "a 差评 (level 1 or 2) needs a reason: detail codes or words")
    client = caller.actor
    cipher = field_cipher(hub)
    with hub.sessions() as s, s.begin():
        again = s.scalar(select(Evaluation).where(Evaluation.idem_client == client, Evaluation.idem_key == idempotency_key))
        if again is not None:
            return _replay(hub, again)
        req = None
        if body.receipt_no:
            case = s.scalar(select(Case).where(Case.receipt_no == _receipt_from(body.receipt_no)))
            if case is None:
                raise HTTPException(404, f"no case {body.receipt_no}")
            ref = (Evaluation.receipt_no == case.receipt_no)
            item_code, item_name, case_no, receipt_no = case.item_code, case.item_name, case.case_no, case.receipt_no
            from kiosk.hub.counter import case_outlet

            outlet = case_outlet(hub, s, case)
        else:
            req = s.scalar(select(ProxyRequest).where(ProxyRequest.request_no == body.request_no))
            if req is None:
                raise HTTPException(404, f"no 代办 request {body.request_no}")
            ref = (Evaluation.request_no == req.request_no)
            item_code, item_name, case_no, receipt_no = req.item_code, req.item_name, None, None
            outlet = req.outlet_code
        count = s.scalar(select(func.count(Evaluation.id)).where(ref)) or 0
        if count >= 2:
            raise HTTPException(409, "本次服务已存在评价，请勿重复评价 (this service already has its evaluation and one follow-up)")
        proxied, agent = _agent_of(hub, s, receipt_no, req)
        now = utcnow()
        e = Evaluation(idem_client=client, idem_key=idempotency_key, receipt_no=receipt_no,
                       request_no=req.request_no if req is not None else None, case_no=case_no, item_code=item_code,
                       item_name=item_name, outlet_code=outlet or caller.outlet_code, level=body.level,
                       detail_codes=list(body.detail_codes), channel=CHANNELS.get(caller.role, "4"),
                       assess_number=count + 1, proxied=proxied,
                       device_id=caller.name if caller.role == "kiosk" else None, created_by=client, created_at=now)
        if body.text:
            e.text_enc = cipher.encrypt(body.text, f"evaluations.text:{client}:{idempotency_key}")
        if agent:
            e.agent_enc = cipher.encrypt_json(agent, f"evaluations.agent:{client}:{idempotency_key}")
            e.agent_masked = f"{mask_name(agent.get('name')) or ''} {mask_document_number(agent.get('id_number')) or ''}"[:120]
        if body.level in BAD_LEVELS:
            e.rectification_status, e.revisit_status = "open", "pending"
            e.rectification_due = _rectify_due(hub, now)
        s.add(e)
        s.flush()
        audit.record(s, client, "evaluation", str(e.id), "created", level=body.level, assess_number=e.assess_number,
                     bad=body.level in BAD_LEVELS)
        eid = e.id
    upload_pending(hub)
    with hub.sessions() as s:
        return _doc(hub, s.get(Evaluation, eid))


def _replay(hub, e: Evaluation):
    from fastapi.responses import JSONResponse

    return JSONResponse(_doc(hub, e), status_code=200)


@router.get("/evaluations")
def list_evaluations(request: Request, bad: bool | None = None, rectification: str | None = None,
                     outlet: str | None = None, limit: int = 50, offset: int = 0,
                     caller: Caller = Depends(require_roles("supervisor", *STAFF_ROLES))):
    """Evaluations newest first (the console's 差评 board: `bad=true&rectification=open`)."""
    hub = request.app.state.hub
    limit = max(1, min(200, limit))
    q = select(Evaluation)
    if bad is True:
        q = q.where(Evaluation.level.in_(BAD_LEVELS))
    elif bad is False:
        q = q.where(Evaluation.level.not_in(BAD_LEVELS))
    if rectification:
        q = q.where(Evaluation.rectification_status == rectification)
    if outlet:
        q = q.where(Evaluation.outlet_code == outlet)
    with hub.sessions() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = list(s.scalars(q.order_by(Evaluation.id.desc()).limit(limit).offset(offset)))
        return {"items": [_doc(hub, e) for e in rows], "total": total, "limit": limit, "offset": offset}


def _staff_row(s, eid: int) -> Evaluation:
    e = s.get(Evaluation, eid)
    if e is None:
        raise HTTPException(404, f"no evaluation {eid}")
    if e.level not in BAD_LEVELS:
        raise HTTPException(409, "only a 差评 has a rectification and a 回访")
    return e


@router.post("/evaluations/{eid}/rectification")
def rectify(eid: int, body: RectificationIn, request: Request, caller: Caller = Depends(require_roles(*STAFF_ROLES))):
    """整改: who handled the case answers for it ("谁办理、谁负责"); status open → rectifying → rectified, or
    appealed (申诉复核 of a mistaken or malicious 差评)."""
    if body.status not in RECTIFICATION_STATES:
        raise HTTPException(422, f"status must be one of {list(RECTIFICATION_STATES)}")
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        e = _staff_row(s, eid)
        e.rectification_status, e.rectification_note = body.status, body.note
        e.rectified_by, e.rectified_at = caller.actor, utcnow()
        audit.record(s, caller.actor, "evaluation", str(eid), "rectification", status=body.status)
        s.flush()
        return _doc(hub, e)


@router.post("/evaluations/{eid}/revisit")
def revisit(eid: int, body: RevisitIn, request: Request, caller: Caller = Depends(require_roles(*STAFF_ROLES))):
    """回访: the follow-up call to the citizen who gave a 差评 (实名差评回访率 100%)."""
    if body.result not in REVISIT_RESULTS:
        raise HTTPException(422, f"result must be one of {list(REVISIT_RESULTS)}")
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        e = _staff_row(s, eid)
        e.revisit_status, e.revisit_result, e.revisit_note = "done", body.result, body.note
        e.revisited_by, e.revisited_at = caller.actor, utcnow()
        audit.record(s, caller.actor, "evaluation", str(eid), "revisit", result=body.result)
        s.flush()
        return _doc(hub, e)


def sweep(hub) -> dict[str, Any]:
    """For the hub's periodic work: upload what waits."""
    return {"uploaded": upload_pending(hub)}
