"""Cases: intake with `Idempotency-Key` (exactly-once effect for at-least-once delivery) and status lookup."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.hub import audit, case_fields
from kiosk.hub.auth import Caller, authenticated, require_roles
from kiosk.hub.db import earlier_or_taken, first_insert_wins, read_only
from kiosk.hub.limits import limited_route, retry_shortly
from kiosk.hub.models import Case, IdempotencyRecord, Upload
from kiosk.hub.schemas import MAX_CASE_BODY_BYTES, RECEIPT_NO_PATH, CaseDetail, CaseIn, CaseOut
from kiosk.hub.tus import _aware, upload_id_from_url, upload_path
from kiosk.hub.models import utcnow

log = logging.getLogger("kiosk.hub.cases")

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], dependencies=[Depends(authenticated)],
                   route_class=limited_route(MAX_CASE_BODY_BYTES))
submitters = require_roles("kiosk", "clerk", "supervisor")


def case_out(case: Case) -> dict:
    return CaseOut(receipt_no=case.receipt_no, case_no=case.case_no if case.status == "submitted" else None,
                   status=case.status, promised_by=case.promised_by if case.status == "submitted" else None).model_dump()


def fingerprint(body: CaseIn) -> str:
    """What makes two requests "the same": every field, with each material identified by its content
    (sha256, size), not by the upload URL — a kiosk that re-uploads a file after a crash still replays."""
    doc = body.model_dump(mode="json")
    if doc.get("pickup_code") is None:  # a case without one fingerprints as before the field existed
        doc.pop("pickup_code", None)
    for m in doc["materials"]:
        m.pop("upload_url", None)
    canonical = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _clean_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # sf-string form: "…"
        key = key[1:-1]
    if not key:
        raise HTTPException(400, "Idempotency-Key header is required (a UUID per case; reuse it on every retry)")
    if len(key) > 200 or not key.isprintable():
        raise HTTPException(400, "Idempotency-Key must be at most 200 printable characters")
    return key


@dataclass(frozen=True)
class Submission:
    """One case post, as `write_cases` takes it: who sent it, under which key, and its fingerprint."""
    caller: Caller
    key: str
    body: CaseIn
    fp: str


def _intake(hub, caller: Caller, key: str, body: CaseIn) -> tuple[int, dict]:
    """The case written with the others posted at the same moment (hub.case_intake, kiosk/hub/group_commit.py):
    under load one transaction, one turn of the audit chain and one commit serve several kiosks' cases."""
    item = Submission(caller, key, body, fingerprint(body))

    def attempt() -> tuple[int, dict]:  # a concurrent retry may win the insert race: then we answer as a replay
        outcome = hub.case_intake(item)
        if isinstance(outcome, HTTPException):
            raise outcome
        return outcome

    return first_insert_wins(attempt, lambda: retry_shortly(
        "a request with this Idempotency-Key is being processed; retry shortly"))


def write_cases(hub, items: list[Submission]) -> list[tuple[int, dict] | HTTPException]:
    """Each case's answer — (status, document), or the HTTPException that refuses it — from one transaction.
    A refused case has written nothing (its checks come before its writes), so it does not disturb the others; an
    error of the database (a lost insert race) fails the whole transaction, and GroupCommit writes each alone."""
    with hub.sessions() as s, s.begin():
        outcomes: list[tuple[int, dict] | HTTPException] = []
        for item in items:
            try:
                outcomes.append(_write_case(hub, s, item))
            except HTTPException as exc:
                outcomes.append(exc)
        return outcomes


def _write_case(hub, s, item: Submission) -> tuple[int, dict]:
    caller, key, body = item.caller, item.key, item.body
    rec, taken = earlier_or_taken(
        lambda: s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.client == caller.actor,
                                                         IdempotencyRecord.key == key)),
        lambda: s.scalar(select(Case.id).where(Case.receipt_no == body.receipt_no)) is not None)
    if rec is not None:
        if rec.fingerprint != item.fp:
            raise HTTPException(422, "this Idempotency-Key was used with a different request body;"
                                     " use a new key for a new case")
        case = s.scalar(select(Case).where(Case.receipt_no == rec.receipt_no))
        return 200, case_out(case)
    if taken:
        raise HTTPException(409, f"receipt number {body.receipt_no} was already submitted under another"
                                 " Idempotency-Key")
    uploads = _check_materials(hub, s, caller, body)
    # nothing is written for this case before here: a refusal above leaves the shared transaction as it was
    case = Case(
        receipt_no=body.receipt_no, device_id=body.device_id, channel=body.channel,
        item_code=body.item_code, item_name=body.item_name,
        materials=[m.model_dump() for m in body.materials], delivery=body.delivery,
        submitted_at=body.submitted_at, status="queued", attempts=0, next_attempt_at=utcnow(),
        created_by=caller.actor)
    a = body.applicant
    case_fields.seal(case_fields.field_cipher(hub), case, case_fields.Personal(
        a.name, a.id_number, a.card_type, a.phone, a.address, body.form))
    s.add(case)
    if body.pickup_code:  # the 取件码 on the citizen's receipt: kept as an HMAC (kiosk/hub/counter.py)
        from kiosk.hub.counter import bind_pickup_code

        bind_pickup_code(hub, s, body.receipt_no, body.pickup_code)
    s.add(IdempotencyRecord(client=caller.actor, key=key, fingerprint=item.fp, receipt_no=body.receipt_no))
    for up in uploads:
        up.bound_to = body.receipt_no
    audit.record(s, caller.actor, "case", body.receipt_no, "received", item_code=body.item_code,
                 channel=body.channel, materials=len(body.materials), applicant_name=body.applicant.name,
                 id_number=body.applicant.id_number)
    return 201, case_out(case)


def _check_materials(hub, s, caller: Caller, body: CaseIn) -> list[Upload]:
    found = []
    for m in body.materials:
        upload_id = upload_id_from_url(m.upload_url)
        up = s.get(Upload, upload_id) if upload_id else None
        if up is None or up.owner != caller.actor:
            raise HTTPException(422, f"material {m.code}: no upload at {m.upload_url}; upload the file to /files/ first")
        if up.purged or _aware(up.expires_at) < utcnow():
            raise HTTPException(410, f"material {m.code}: the upload expired; upload the file again")
        if up.offset != up.length or up.sha256 is None:
            raise HTTPException(422, f"material {m.code}: the upload is incomplete ({up.offset} of {up.length} bytes);"
                                     " resume it, then submit again")
        if up.sha256 != m.sha256 or up.length != m.bytes:
            raise HTTPException(422, f"material {m.code}: the uploaded file's sha256/size differ from the case"
                                     f" (hub has {up.sha256}, {up.length} bytes)")
        if up.bound_to and up.bound_to != body.receipt_no:
            raise HTTPException(422, f"material {m.code}: that upload belongs to case {up.bound_to}")
        # The kiosk deletes its copy once the case is accepted: accept only what this hub (and so every hub on
        # the shared upload volume) can read back whole right now.
        try:
            on_disk = upload_path(hub.upload_dir, up.id).stat().st_size
        except OSError:
            on_disk = -1
        if on_disk != up.length:
            raise HTTPException(410, f"material {m.code}: the hub cannot read the uploaded file back; upload it"
                                     " again (the kiosk keeps its copy until the case is accepted)")
        found.append(up)
    return found


@router.post("", status_code=201, response_model=CaseOut,
             responses={200: {"description": "replay of an earlier request with the same key"}})
async def submit_case(body: CaseIn, request: Request, caller: Caller = Depends(submitters),
                      idempotency_key: str | None = Header(default=None)):
    key = _clean_key(idempotency_key)
    if caller.role == "kiosk" and body.device_id != caller.name:
        raise HTTPException(403, f"this token belongs to device {caller.name}, not {body.device_id}")
    hub = request.app.state.hub
    status, doc = await run_in_threadpool(_intake, hub, caller, key, body)
    if status == 201:
        log.info("case received", extra={"receipt_no": body.receipt_no, "item_code": body.item_code})
        if hub.relay is not None:
            hub.relay.wake()
    return JSONResponse(doc, status_code=status)


@router.get("/{receipt_no}", response_model=CaseDetail)
def case_status(request: Request, receipt_no: str = Path(pattern=RECEIPT_NO_PATH),
                caller: Caller = Depends(authenticated)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        read_only(s)
        case = s.scalar(select(Case).where(Case.receipt_no == receipt_no))
        # A kiosk or channel token reads only the cases it submitted: another citizen's case answers as unknown.
        if case is not None and caller.role in ("kiosk", "channel") and case.created_by != caller.actor:
            case = None
        if case is None:
            raise HTTPException(404, f"no case with receipt number {receipt_no} has reached the hub (yet)")
        doc = case_out(case)
        doc.update(item_code=case.item_code, item_name=case.item_name, attempts=case.attempts,
                   platform_status=case.platform_status,
                   last_error=case.last_error, created_at=_aware(case.created_at).isoformat(),
                   updated_at=_aware(case.updated_at).isoformat())
    return doc
