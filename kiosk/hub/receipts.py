"""Receipt copies: the kiosk stores the ESC/POS bytes of a case's receipt; a clerk fetches them to reprint.

A receipt that could not be printed (paper out, printer offline) stays with the case, so staff can hand it out
later. Every store and every fetch is written to the audit log; only clerks and supervisors may fetch.
"""
from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated, require_roles
from kiosk.hub.db import first_insert_wins
from kiosk.hub.limits import retry_shortly
from kiosk.hub.models import Case, ReceiptCopy, utcnow
from kiosk.hub.schemas import RECEIPT_NO_PATH
from kiosk.hub.tus import _aware

log = logging.getLogger("kiosk.hub.receipts")

MAX_RECEIPT_BYTES = 64 * 1024  # a long 80 mm receipt with a logo is ~20 KiB; the kiosk keeps the same cap

router = APIRouter(prefix="/api/v1/cases", tags=["receipts"], dependencies=[Depends(authenticated)])
storers = require_roles("kiosk", "clerk")
readers = require_roles("clerk", "supervisor")


def _copy_doc(copy: ReceiptCopy, outcome: str) -> dict:
    return {"receipt_no": copy.receipt_no, "outcome": outcome, "bytes": copy.size, "sha256": copy.sha256,
            "stored_by": copy.stored_by, "created_at": _aware(copy.created_at).isoformat()}


async def _read_capped(request: Request) -> bytes:
    """The request body, refusing (413) as soon as it passes the cap — a large body is never held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_RECEIPT_BYTES:
        raise HTTPException(413, f"a receipt copy may be at most {MAX_RECEIPT_BYTES} bytes; this one has {declared}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_RECEIPT_BYTES:
            raise HTTPException(413, f"a receipt copy may be at most {MAX_RECEIPT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _store(hub, caller: Caller, receipt_no: str, escpos: bytes) -> tuple[int, dict]:
    digest = hashlib.sha256(escpos).hexdigest()

    def attempt() -> tuple[int, dict]:  # two identical PUTs may race for the insert; the loser sees the winner's row
        with hub.sessions() as s, s.begin():
            # Locking the case row serialises stores of one receipt on PostgreSQL (SQLite: BEGIN IMMEDIATE).
            case = s.scalar(select(Case).where(Case.receipt_no == receipt_no).with_for_update())
            if case is None:
                raise HTTPException(404, f"no case with receipt number {receipt_no} has reached the hub (yet);"
                                         " send the case first")
            if caller.role == "kiosk" and caller.name != case.device_id:
                raise HTTPException(403, f"this token belongs to device {caller.name}; case {receipt_no}"
                                         f" came from device {case.device_id}")
            copy = s.scalar(select(ReceiptCopy).where(ReceiptCopy.receipt_no == receipt_no))
            if copy is None:
                copy = ReceiptCopy(receipt_no=receipt_no, escpos=escpos, size=len(escpos), sha256=digest,
                                   created_at=utcnow(), stored_by=caller.actor)
                s.add(copy)
                status, outcome, detail = 201, "stored", {}
            elif copy.sha256 == digest:
                status, outcome, detail = 200, "unchanged", {}
            else:
                detail = {"previous_sha256": copy.sha256, "previous_bytes": copy.size,
                          "previous_stored_by": copy.stored_by}
                copy.escpos, copy.size, copy.sha256 = escpos, len(escpos), digest
                copy.created_at, copy.stored_by = utcnow(), caller.actor
                status, outcome = 200, "replaced"
            audit.record(s, caller.actor, "receipt", receipt_no, f"receipt_{outcome}", sha256=digest,
                         bytes=len(escpos), **detail)
            s.flush()
            return status, _copy_doc(copy, outcome)

    return first_insert_wins(attempt, lambda: retry_shortly("another copy of this receipt is being stored; retry shortly"))


@router.put("/{receipt_no}/receipt", status_code=201,
            responses={200: {"description": "the same bytes were stored before (unchanged), or replaced"},
                       413: {"description": f"body larger than {MAX_RECEIPT_BYTES} bytes"}})
async def store_receipt(request: Request, receipt_no: str = Path(pattern=RECEIPT_NO_PATH),
                        caller: Caller = Depends(storers)):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/octet-stream":
        raise HTTPException(415, "send the receipt's ESC/POS bytes as Content-Type: application/octet-stream")
    escpos = await _read_capped(request)
    if not escpos:
        raise HTTPException(422, "the body is empty: send the receipt's ESC/POS bytes")
    status, doc = await run_in_threadpool(_store, request.app.state.hub, caller, receipt_no, escpos)
    log.info("receipt copy %s", doc["outcome"], extra={"receipt_no": receipt_no, "bytes": doc["bytes"]})
    return JSONResponse(doc, status_code=status)


def _fetch(hub, caller: Caller, receipt_no: str) -> ReceiptCopy:
    with hub.sessions() as s, s.begin():
        copy = s.scalar(select(ReceiptCopy).where(ReceiptCopy.receipt_no == receipt_no))
        if copy is None:
            known = s.scalar(select(Case.id).where(Case.receipt_no == receipt_no)) is not None
            raise HTTPException(404, f"case {receipt_no} has no receipt copy on the hub (yet)" if known else
                                f"no case with receipt number {receipt_no} has reached the hub (yet)")
        audit.record(s, caller.actor, "receipt", receipt_no, "receipt_fetched", sha256=copy.sha256, bytes=copy.size)
        return copy


@router.get("/{receipt_no}/receipt", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the ESC/POS bytes"}})
async def fetch_receipt(request: Request, receipt_no: str = Path(pattern=RECEIPT_NO_PATH),
                        caller: Caller = Depends(readers)):
    copy = await run_in_threadpool(_fetch, request.app.state.hub, caller, receipt_no)
    log.info("receipt copy fetched", extra={"receipt_no": receipt_no})
    return Response(copy.escpos, media_type="application/octet-stream",
                    headers={"X-Receipt-Sha256": copy.sha256, "Cache-Control": "no-store",
                             "X-Receipt-Stored-By": copy.stored_by})
