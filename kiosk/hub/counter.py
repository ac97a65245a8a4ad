"""The counter's hub API (/api/v1/counter): clerk sign-in with ID card + PIN, 代发 (result hand-outs),
代收 (materials collected for an application filed elsewhere) and the lookups behind them.

Sign-in: the counter's device token sends the number read from the clerk's own card and the PIN; the hub
finds the person by the HMAC of the number (never stored in clear), checks the argon2 PIN hash and issues a
short-lived clerk token (`api_tokens` row with person and outlet) plus a `counter_sessions` row. Wrong PINs
count per card: from the third one each attempt waits longer (30 s, 60 s, 120 s … up to an hour), and while
it waits even the right PIN is refused.

Every action is recorded in the audit log under the clerk's name (`clerk:<name>`), the session's person id
and the outlet.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.china_time import shown
from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated, create_token
from kiosk.hub.case_fields import field_cipher, unseal
from kiosk.hub.models import ApiToken, Base, Case, Outlet, Person, ProxyMandate, ProxyRequest, Upload, utcnow
from kiosk.hub.schemas import MaterialIn
from kiosk.hub.threads import platform_calls
from kiosk.privacy.masking import mask_document_number, mask_name

log = logging.getLogger("kiosk.hub.counter")

TOKEN_TTL_S = float(os.environ.get("KIOSK_COUNTER_TOKEN_TTL_S", 8 * 3600))  # one shift
FREE_ATTEMPTS = 2  # wrong PINs without a wait
FIRST_WAIT_S = 30
MAX_WAIT_S = 3600
STAFF_ROLES = ("clerk", "runner", "window", "chief", "leader")
READY_STATUSES = ("completed", "ready")  # 办结 / 待领取 from the platform
_hasher = PasswordHasher()


# -- tables (migration 0008_counter) ----------------------------------------------------------
class CounterSession(Base):
    """A clerk's shift at a counter: from sign-in to sign-out, timeout or token expiry."""

    __tablename__ = "counter_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_id: Mapped[int] = mapped_column(Integer, index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    outlet_code: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(100))  # the counter's device token (actor)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # sign_out | timeout


class PinFailures(Base):
    """Wrong PINs per card (by the HMAC of its number) and until when the next attempt must wait."""

    __tablename__ = "counter_pin_failures"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Pickup(Base):
    """A result ready at the outlet (办结, 待领取): its pickup code, given when the hub first saw it ready."""

    __tablename__ = "counter_pickups"
    receipt_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    pickup_code: Mapped[str] = mapped_column(String(8), unique=True)
    ready_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PickupHash(Base):
    """A pickup code the kiosk or counter chose when the case was filed and printed on the 受理回执 (migration 0011):
    only its HMAC with the hub key, bound to the case's receipt number."""

    __tablename__ = "counter_pickup_hashes"
    receipt_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Handout(Base):
    """代发: a result handed to the applicant or an agent with an active 委托, or posted (邮寄, free of charge)."""

    __tablename__ = "counter_handouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(16))  # applicant | agent | post
    recipient_id_hash: Mapped[str] = mapped_column(String(64), default="")
    recipient_name: Mapped[str] = mapped_column(String(100), default="")  # masked
    mandate_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    method: Mapped[str] = mapped_column(String(8))  # counter | post
    waybill_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    person_id: Mapped[int] = mapped_column(Integer)
    clerk: Mapped[str] = mapped_column(String(100))
    outlet_code: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Collection(Base):
    """代收: materials scanned at this counter for an application the citizen filed elsewhere."""

    __tablename__ = "counter_collections"
    __table_args__ = (UniqueConstraint("client", "idempotency_key", name="uq_counter_collection_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    receipt_no: Mapped[str] = mapped_column(String(40), index=True)
    case_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    person_id: Mapped[int] = mapped_column(Integer)
    clerk: Mapped[str] = mapped_column(String(100))
    outlet_code: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Delivery to the platform as supplementary materials (migration 0011, kiosk/hub/supplements_relay.py)
    # pending | delivered | failed | discarded (kiosk/hub/collections_admin.py)
    relay_status: Mapped[str] = mapped_column(String(16), default="pending")
    relay_attempts: Mapped[int] = mapped_column(Integer, default=0)
    relay_next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    relay_locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    relay_lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    relay_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# -- bodies -----------------------------------------------------------------------------------
class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=5, max_length=40)
    pin: str = Field(min_length=4, max_length=12)


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: str = Field(default="", max_length=200)  # a receipt number, or the tracking URL of its QR
    pickup_code: str = Field(default="", max_length=8)
    id_number: str = Field(default="", max_length=40)


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=5, max_length=40)
    name: str = Field(default="", max_length=100)


class HandoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: str = Field(min_length=1, max_length=40)
    method: Literal["counter", "post"] = "counter"
    card: CardIn | None = None  # required at the counter: the card on the reader
    waybill_no: str | None = Field(default=None, max_length=40)


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: str = Field(min_length=1, max_length=40)
    materials: list[MaterialIn] = Field(min_length=1, max_length=50)


# -- helpers ----------------------------------------------------------------------------------
def _refuse(status: int, code: str, message: str, **extra) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message, **extra})


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def id_hash(hub, id_number: str) -> str:
    """The HMAC of an ID number with the hub key, as `people.id_number_hash` stores it."""
    return field_cipher(hub).id_hash(id_number)


def _wait_s(failures: int) -> int:
    if failures <= FREE_ATTEMPTS:
        return 0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - FREE_ATTEMPTS - 1))


class Clerk:
    """The caller behind a clerk token, with its live counter session."""

    def __init__(self, caller: Caller, session: CounterSession, person) -> None:
        self.caller = caller
        self.session = session
        self.person_id = session.person_id
        self.outlet_code = session.outlet_code
        self.name = person.name
        self.role = person.role

    @property
    def actor(self) -> str:
        return self.caller.actor


def _session_of(s, caller: Caller) -> CounterSession | None:
    return s.scalar(select(CounterSession).where(CounterSession.token_id == caller.token_id))


def clerk_caller(request: Request, caller: Caller = Depends(authenticated)) -> Clerk:
    """A signed-in clerk whose shift has not ended or run out."""
    hub = request.app.state.hub
    with hub.sessions() as s:
        sess = _session_of(s, caller)
        if sess is None:
            raise _refuse(403, "not_signed_in", "this call needs a clerk signed in at a counter (ID card + PIN)")
        if sess.ended_at is not None or _aware(sess.expires_at) <= utcnow():
            raise _refuse(401, "shift_ended", "the clerk's session has ended; sign in again with your ID card and PIN")
        person = s.get(Person, sess.person_id)
        return Clerk(caller, sess, person)


def _audit(s, clerk: Clerk, entity: str, entity_id: str, action: str, **detail) -> None:
    audit.record(s, clerk.actor, entity, entity_id, action, person_id=clerk.person_id, outlet=clerk.outlet_code,
                 **detail)


router = APIRouter(prefix="/api/v1/counter", tags=["counter"], dependencies=[Depends(authenticated)])


# -- sign-in ----------------------------------------------------------------------------------
@router.post("/sign-in")
def sign_in(body: SignIn, request: Request, caller: Caller = Depends(authenticated)):
    if caller.role != "kiosk":
        raise _refuse(403, "not_a_counter", "sign in from a counter (device token), not with a person's token")
    hub = request.app.state.hub
    digest = id_hash(hub, body.id_number)
    now = utcnow()
    with hub.sessions() as s, s.begin():
        fails = s.get(PinFailures, digest)
        if fails is not None and fails.locked_until is not None and _aware(fails.locked_until) > now:
            wait = int((_aware(fails.locked_until) - now).total_seconds()) + 1
            raise _refuse(429, "locked", f"too many wrong PINs: try again in {wait} s", retry_after_s=wait)
        person = s.scalar(select(Person).where(Person.id_number_hash == digest))
        if person is None or person.role not in STAFF_ROLES:
            audit.record(s, caller.actor, "counter", caller.name, "sign_in_refused", reason="not_staff")
            raise _refuse(403, "not_staff", "this ID card does not belong to a clerk: sign in with your own card")
        if not person.active:
            raise _refuse(403, "inactive", "this clerk's account is switched off; ask the outlet's administrator")
        if not person.pin_hash:
            raise _refuse(403, "no_pin", "no PIN is set for this clerk; ask the outlet's administrator to set one")
        device_outlet = caller.outlet_code
        if device_outlet and device_outlet != person.outlet_code:
            audit.record(s, caller.actor, "person", str(person.id), "sign_in_refused", reason="other_outlet")
            raise _refuse(403, "other_outlet", f"this clerk belongs to outlet {person.outlet_code}, not to this"
                                               f" counter's outlet {device_outlet}")
        try:
            _hasher.verify(person.pin_hash, body.pin)
        except (VerificationError, InvalidHashError):
            if fails is None:
                fails = PinFailures(id_hash=digest, failures=0)
                s.add(fails)
            fails.failures = (fails.failures or 0) + 1
            fails.last_failure_at = now
            wait = _wait_s(fails.failures)
            fails.locked_until = now + dt.timedelta(seconds=wait) if wait else None
            audit.record(s, caller.actor, "person", str(person.id), "wrong_pin", failures=fails.failures, wait_s=wait)
            left = max(0, FREE_ATTEMPTS + 1 - fails.failures)
            # committed even though we refuse: the count must survive the refusal
            s.commit()
            raise _refuse(401, "wrong_pin", "wrong PIN" + (f": try again in {wait} s" if wait else ""),
                          retry_after_s=wait, attempts_left=left)
        if fails is not None:
            s.delete(fails)
        outlet = s.get(Outlet, person.outlet_code)
        expires = now + dt.timedelta(seconds=TOKEN_TTL_S)
        token = create_token(s, person.role, person.name, outlet_code=person.outlet_code, person_id=person.id,
                             expires_at=expires)
        s.flush()
        row = s.scalar(select(ApiToken).where(ApiToken.key_id == token.split("_")[1]))
        session_id = secrets.token_hex(16)
        s.add(CounterSession(id=session_id, token_id=row.id, person_id=person.id, outlet_code=person.outlet_code,
                             device=caller.actor, started_at=now, expires_at=expires))
        audit.record(s, f"{person.role}:{person.name}", "person", str(person.id), "signed_in", device=caller.actor,
                     outlet=person.outlet_code, counter_session=session_id)
        doc = {"token": token, "expires_at": expires.isoformat(), "session_id": session_id,
               "person": {"id": person.id, "name": person.name, "role": person.role},
               "outlet": {"code": person.outlet_code, "name": outlet.name if outlet else person.outlet_code}}
    return doc


@router.post("/sign-out")
def sign_out(request: Request, clerk: Clerk = Depends(clerk_caller), reason: str = "sign_out"):
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        sess = s.get(CounterSession, clerk.session.id)
        sess.ended_at = utcnow()
        sess.end_reason = "timeout" if reason == "timeout" else "sign_out"
        token = s.get(ApiToken, sess.token_id)
        if token is not None:
            token.revoked = True
        _audit(s, clerk, "person", str(clerk.person_id), "signed_out", reason=sess.end_reason)
    _forget_cached(request)
    return {"ended": True, "reason": sess.end_reason}


def _forget_cached(request: Request) -> None:
    """The revoked token must not live on in this process's verifier (other processes see the revocation
    within `kiosk.hub.auth.RECHECK_S`)."""
    request.app.state.tokens.forget(request.headers.get("authorization", "").partition(" ")[2].strip())


@router.get("/me")
def me(clerk: Clerk = Depends(clerk_caller)):
    return {"person": {"id": clerk.person_id, "name": clerk.name, "role": clerk.role},
            "outlet": {"code": clerk.outlet_code}, "expires_at": _aware(clerk.session.expires_at).isoformat()}


# -- results and lookups ----------------------------------------------------------------------
def personal(hub, case: Case) -> dict:
    """The applicant's real fields and form: decrypted where the hub keeps them sealed (kiosk.hub.case_fields),
    else the plain columns of an older hub."""
    if getattr(case, "personal_enc", None) is not None:
        doc = unseal(field_cipher(hub), case).as_doc()
        return {"name": doc["name"], "id_number": doc["id_number"], "form": doc.get("form") or {}}
    return {"name": case.applicant_name, "id_number": case.applicant_id_number, "form": dict(case.form or {})}


def _cases_of_card(hub, s, id_number: str) -> list[Case]:
    """The cases of the holder of `id_number`: candidates by the plain or masked column, each confirmed with the
    real (decrypted) number."""
    number = id_number.strip().upper()
    candidates = s.scalars(select(Case).where(Case.applicant_id_number.in_([number, mask_document_number(number)]))
                           .order_by(Case.id.desc()).limit(2000))
    return [c for c in candidates if str(personal(hub, c)["id_number"]).upper() == number][:20]


def _receipt_from(text: str) -> str:
    """A receipt number typed in, or the tracking URL its QR carries (…?r=<receipt no>)."""
    text = text.strip()
    if "r=" in text:
        from urllib.parse import parse_qs, urlparse

        values = parse_qs(urlparse(text).query).get("r")
        if values:
            return values[0].strip()
    return text


def case_outlet(hub, s, case: Case) -> str | None:
    """Where a case's result goes: the outlet of the counter that entered it, else of the kiosk that sent it."""
    counter = personal(hub, case)["form"].get("counter") or {}
    if counter.get("outlet_code"):
        return counter["outlet_code"]
    role, _, name = case.created_by.partition(":")
    token = s.scalar(select(ApiToken).where(ApiToken.role == role, ApiToken.name == name).limit(1))
    return getattr(token, "outlet_code", None) if token is not None else None


def _refresh(hub, s, case: Case) -> None:
    """Ask the platform for the status of a submitted case that is not final yet (办结 or 不予受理)."""
    if hub.platform is None or not case.case_no or case.platform_status in ("completed", "rejected"):
        return
    try:
        status = str(hub.platform.query_status(case.case_no).get("status") or "")
    except Exception as exc:  # the platform away: the last known status stands
        log.warning("platform status of %s unavailable: %s", case.case_no, exc)
        return
    if status and status != case.platform_status and status != "draft":
        case.platform_status = status
        audit.record(s, "platform", "case", case.receipt_no, "platform_status", status=status, source="query")


PICKUP_CODE = re.compile(r"^\d{6}$")


def pickup_code_hash(hub, code: str) -> str:
    """The HMAC of a pickup code with the hub key (six digits are easy to guess, their HMAC without the key not)."""
    return field_cipher(hub).id_hash(f"pickup-code:{code.strip()}")


def bind_pickup_code(hub, s, receipt_no: str, code: str | None) -> None:
    """Keep the pickup code a kiosk or counter printed on the 受理回执 of a new case: its HMAC only."""
    if code and PICKUP_CODE.match(code) and s.get(PickupHash, receipt_no) is None:
        s.add(PickupHash(receipt_no=receipt_no, code_hash=pickup_code_hash(hub, code)))


def _code_on_receipt(s, case: Case) -> bool:
    return s.get(PickupHash, case.receipt_no) is not None


def _pickup_code(s, case: Case) -> str:
    """The hub's own pickup code for a case filed without one (an older kiosk): issued when first ready."""
    row = s.get(Pickup, case.receipt_no)
    if row is None:
        for _ in range(20):
            code = f"{secrets.randbelow(10 ** 6):06d}"
            if s.scalar(select(Pickup).where(Pickup.pickup_code == code)) is None:
                break
        row = Pickup(receipt_no=case.receipt_no, pickup_code=code)
        s.add(row)
        s.flush()
    return row.pickup_code


def _result_doc(hub, s, case: Case, clerk: Clerk) -> dict:
    handout = s.scalar(select(Handout).where(Handout.receipt_no == case.receipt_no))
    who = personal(hub, case)
    ready = case.platform_status in READY_STATUSES
    doc = {
        "receipt_no": case.receipt_no, "case_no": case.case_no, "item_code": case.item_code,
        "item_name": case.item_name, "applicant_name": mask_name(who["name"]),
        "applicant_id_number": mask_document_number(who["id_number"]), "delivery": case.delivery,
        "status": case.status, "platform_status": case.platform_status,
        "result": "handed_out" if handout else ("ready" if ready else "not_ready"),
        "outlet_code": case_outlet(hub, s, case), "materials": [{"code": m.get("code"), "name": m.get("name"),
                                                            "pages": m.get("pages")} for m in case.materials or []],
        "promised_by": case.promised_by, "channel": case.channel,
        "collections": [_collection_doc(c) for c in s.scalars(select(Collection).where(
            Collection.receipt_no == case.receipt_no).order_by(Collection.id))],
    }
    on_receipt = _code_on_receipt(s, case)
    doc["pickup_code_on_receipt"] = on_receipt  # the citizen holds it; the hub knows only its HMAC
    if ready and not handout and not on_receipt:
        doc["pickup_code"] = _pickup_code(s, case)
    if handout:
        doc["handed_out"] = {"at": _aware(handout.at).isoformat(), "by": handout.clerk, "recipient": handout.recipient,
                             "method": handout.method, "waybill_no": handout.waybill_no}
    return doc


@router.post("/lookup")
@platform_calls
def lookup(body: Lookup, request: Request, clerk: Clerk = Depends(clerk_caller)):
    """Cases by receipt number (or its QR's URL), pickup code or the citizen's card, newest first."""
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        if body.receipt_no:
            cases = list(s.scalars(select(Case).where(Case.receipt_no == _receipt_from(body.receipt_no))))
        elif body.pickup_code:
            code = body.pickup_code.strip()
            receipts = set(s.scalars(select(Pickup.receipt_no).where(Pickup.pickup_code == code)))
            # Codes chosen by kiosks are random, not unique: the card at 代发 decides whose result it is.
            receipts |= set(s.scalars(select(PickupHash.receipt_no)
                                      .where(PickupHash.code_hash == pickup_code_hash(hub, code))))
            cases = list(s.scalars(select(Case).where(Case.receipt_no.in_(receipts))
                                   .order_by(Case.created_at.desc()))) if receipts else []
        elif body.id_number:
            cases = _cases_of_card(hub, s, body.id_number)
        else:
            raise _refuse(422, "nothing_to_look_up", "give a receipt number, a pickup code or the citizen's card")
        for case in cases:
            _refresh(hub, s, case)
        results = [_result_doc(hub, s, c, clerk) for c in cases]
        _audit(s, clerk, "counter", clerk.outlet_code, "lookup", by=("receipt" if body.receipt_no else
                                                                       "pickup_code" if body.pickup_code else "card"),
               found=len(results))
    return {"results": results}


# -- 代发 ---------------------------------------------------------------------------------------
def _mandates_for(hub, s, case: Case) -> list[tuple[ProxyMandate, dict]]:
    """委托书 that can cover this case's result: those of the request the case was filed from, and those the
    applicant signed for the same item; with each one's agent (decrypted)."""
    requests = s.scalars(select(ProxyRequest).where((ProxyRequest.receipt_no == case.receipt_no)
                                                    | (ProxyRequest.item_code == case.item_code)))
    found = []
    fc = field_cipher(hub)
    applicant = str(personal(hub, case)["id_number"]).upper()
    for req in requests:
        for m in s.scalars(select(ProxyMandate).where(ProxyMandate.request_id == req.id)):
            if m.agent_enc is None:
                continue
            try:
                principal = fc.decrypt_json(m.principal_enc, "proxy_mandates.principal_enc")
                agent = fc.decrypt_json(m.agent_enc, "proxy_mandates.agent_enc")
            except Exception:  # another key or a damaged row: it cannot vouch for anybody
                log.warning("mandate %s unreadable", m.id)
                continue
            linked = req.receipt_no == case.receipt_no
            same_principal = str(principal.get("id_number", "")).upper() == applicant
            covers = not m.scope_items or case.item_code in m.scope_items
            if (linked or same_principal) and covers:
                found.append((m, agent))
    return found


def _effective(m: ProxyMandate, now: dt.datetime) -> bool:
    return m.status in ("active", "renewed") and _aware(m.expires_at) > now


def _entitlement(hub, s, case: Case, card: CardIn) -> tuple[str, int | None]:
    """('applicant', None) or ('agent', mandate id); raises the refusal in words otherwise."""
    number = card.id_number.strip().upper()
    if number == str(personal(hub, case)["id_number"]).upper():
        return "applicant", None
    now = utcnow()
    theirs = [m for m, agent in _mandates_for(hub, s, case) if str(agent.get("id_number", "")).upper() == number]
    for m in theirs:
        if _effective(m, now):
            return "agent", m.id
    if theirs:
        raise _refuse(403, "mandate_expired", "this person's 委托书 for the applicant has expired or was revoked:"
                                              " the applicant comes in person or signs a new 委托书 (续办委托书)")
    raise _refuse(403, "not_entitled", "this ID card is neither the applicant's nor that of an agent with an active"
                                       " 委托书: the result cannot be handed over")


@router.post("/handouts", status_code=201)
@platform_calls
def handout(body: HandoutIn, request: Request, clerk: Clerk = Depends(clerk_caller),
            idempotency_key: str | None = Header(default=None)):
    key = (idempotency_key or "").strip()
    if not key:
        raise _refuse(400, "idempotency_key", "Idempotency-Key header is required (one per hand-out)")
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        case = s.scalar(select(Case).where(Case.receipt_no == _receipt_from(body.receipt_no)))
        if case is None:
            raise _refuse(404, "not_found", f"no case with receipt number {body.receipt_no}")
        done = s.scalar(select(Handout).where(Handout.receipt_no == case.receipt_no))
        if done is not None:
            if done.idempotency_key == key:
                return JSONResponse(_handout_doc(hub, s, case, done), status_code=200)
            raise _refuse(409, "already_handed_out", f"this result was already handed out on"
                                                     f" {shown(_aware(done.at))}"
                                                     f" by {done.clerk}", at=_aware(done.at).isoformat(), by=done.clerk)
        _refresh(hub, s, case)
        if case.platform_status not in READY_STATUSES:
            raise _refuse(409, "not_ready", "the result of this case has not arrived yet (not 办结 / 待领取)")
        outlet = case_outlet(hub, s, case)
        if body.method == "counter" and outlet and outlet != clerk.outlet_code:
            raise _refuse(403, "other_outlet", f"this result is held at outlet {outlet}, not here")
        mandate_id = None
        if body.method == "counter":
            if body.card is None:
                raise _refuse(422, "card_required", "place the recipient's ID card on the reader")
            recipient, mandate_id = _entitlement(hub, s, case, body.card)
            recipient_hash, recipient_name = id_hash(hub, body.card.id_number), mask_name(body.card.name) or ""
        else:
            waybill = (body.waybill_no or "").strip()
            if not (6 <= len(waybill) <= 40 and waybill.isalnum()):
                raise _refuse(422, "waybill", "enter the waybill number (运单号, 6-40 letters and digits)")
            recipient, recipient_hash, recipient_name = "post", "", mask_name(personal(hub, case)["name"]) or ""
        code = None if _code_on_receipt(s, case) else _pickup_code(s, case)
        row = Handout(receipt_no=case.receipt_no, idempotency_key=key, recipient=recipient,
                      recipient_id_hash=recipient_hash, recipient_name=recipient_name, mandate_id=mandate_id,
                      method=body.method, waybill_no=(body.waybill_no or None) if body.method == "post" else None,
                      person_id=clerk.person_id, clerk=clerk.name, outlet_code=clerk.outlet_code)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise _refuse(409, "already_handed_out", "this result was handed out a moment ago") from None
        _audit(s, clerk, "case", case.receipt_no, "handed_out", recipient=recipient, method=body.method,
               mandate_id=mandate_id, waybill_no=row.waybill_no, pickup_code=code,
               pickup_code_on_receipt=code is None)
        return _handout_doc(hub, s, case, row)


def _handout_doc(hub, s, case: Case, row: Handout) -> dict:
    pickup = s.get(Pickup, case.receipt_no)
    who = personal(hub, case)
    return {"handout_id": row.id, "receipt_no": case.receipt_no, "case_no": case.case_no, "item_name": case.item_name,
            "applicant_name": mask_name(who["name"]), "applicant_id_number": mask_document_number(who["id_number"]),
            "recipient": row.recipient, "recipient_name": row.recipient_name, "method": row.method,
            "waybill_no": row.waybill_no, "pickup_code": pickup.pickup_code if pickup else "",
            "at": _aware(row.at).isoformat(), "clerk": row.clerk, "outlet_code": row.outlet_code}


# -- 代收 ---------------------------------------------------------------------------------------
@router.post("/collections", status_code=201)
def collection(body: CollectionIn, request: Request, clerk: Clerk = Depends(clerk_caller),
               idempotency_key: str | None = Header(default=None)):
    from kiosk.hub.tus import upload_id_from_url

    key = (idempotency_key or "").strip()
    if not key:
        raise _refuse(400, "idempotency_key", "Idempotency-Key header is required (one per collection)")
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        old = s.scalar(select(Collection).where(Collection.client == clerk.actor, Collection.idempotency_key == key))
        if old is not None:
            return JSONResponse(_collection_doc(old), status_code=200)
        case = s.scalar(select(Case).where(Case.receipt_no == _receipt_from(body.receipt_no)))
        if case is None:
            raise _refuse(404, "not_found", f"no application with receipt number {body.receipt_no} has reached the hub")
        uploads = []
        for m in body.materials:
            up = s.get(Upload, upload_id_from_url(m.upload_url) or "")
            if up is None or up.offset != up.length or up.sha256 != m.sha256 or up.purged or up.bound_to:
                raise _refuse(422, "upload", f"material {m.code}: the scanned file did not arrive whole; scan it again")
            uploads.append(up)
        row = Collection(client=clerk.actor, idempotency_key=key, receipt_no=case.receipt_no, case_no=case.case_no,
                         materials=[m.model_dump() for m in body.materials], person_id=clerk.person_id,
                         clerk=clerk.name, outlet_code=clerk.outlet_code, relay_status="pending", relay_attempts=0,
                         relay_next_at=utcnow())
        s.add(row)
        s.flush()
        from kiosk.hub.supplements_relay import bound_to

        for up in uploads:  # kept until the platform has them (kiosk/hub/supplements_relay.py)
            up.bound_to = bound_to(row.id)
        _audit(s, clerk, "case", case.receipt_no, "materials_collected", collection=row.id,
               materials=[m.code for m in body.materials], item_code=case.item_code)
        doc = _collection_doc(row)
        who = personal(hub, case)
        doc.update(item_name=case.item_name, applicant_name=mask_name(who["name"]),
                   applicant_id_number=mask_document_number(who["id_number"]))
    forwarder = getattr(hub, "supplements", None)
    if forwarder is not None:
        forwarder.wake()
    return doc


@router.get("/collections")
def collections(request: Request, receipt_no: str = Query(min_length=1, max_length=200),
                clerk: Clerk = Depends(clerk_caller)):
    """The collections of an application and whether each reached the platform (已转交) or waits (待转交)."""
    hub = request.app.state.hub
    with hub.sessions() as s:
        rows = s.scalars(select(Collection).where(Collection.receipt_no == _receipt_from(receipt_no))
                         .order_by(Collection.id))
        return {"collections": [_collection_doc(r) for r in rows]}


def _collection_doc(row: Collection) -> dict:
    from kiosk.hub.supplements_relay import collection_no, status_doc

    return {"collection_no": collection_no(row), "receipt_no": row.receipt_no,
            "case_no": row.case_no, "materials": [{"code": m["code"], "name": m["name"], "pages": m["pages"]}
                                                  for m in row.materials],
            "at": _aware(row.at).isoformat(), "clerk": row.clerk, "outlet_code": row.outlet_code,
            "forwarding": status_doc(row)}


# -- staff records (training seed, tests, the operations guide's one-off setup) -------------------
def register_staff(s, field_cipher, *, outlet_code: str, role: str, name: str, id_number: str, pin: str,
                   hasher: PasswordHasher | None = None) -> Person:
    """A person of an outlet's staff who signs in at a counter with their ID card and PIN (only hashes kept).
    Reuses the person with the same card at that outlet, setting the new PIN."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {STAFF_ROLES}")
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("the PIN must be 4 to 8 digits")
    digest = field_cipher.id_hash(id_number)
    person = s.scalar(select(Person).where(Person.id_number_hash == digest, Person.outlet_code == outlet_code))
    if person is None:
        person = Person(outlet_code=outlet_code, role=role, name=name, id_number_hash=digest, active=True)
        s.add(person)
    person.role, person.name = role, name
    person.pin_hash = (hasher or _hasher).hash(pin)
    s.flush()
    return person
