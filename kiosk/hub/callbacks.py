"""Status callbacks pushed by the platform (`POST /callbacks/platform`), verified by the platform adapter's
request signature instead of a bearer token."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.hub import audit
from kiosk.hub.models import Case, utcnow
from kiosk.platform.adapter import PlatformRejected

log = logging.getLogger("kiosk.hub.callbacks")

PLATFORM_STATUSES = {"accepted", "in_progress", "completed", "rejected"}


async def platform_signed(request: Request) -> dict:
    """The route's authentication: the platform's signature over the body (see docs/platform-protocol.md §2)."""
    hub = request.app.state.hub
    if hub.platform is None:
        raise HTTPException(503, "no platform adapter is configured")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # The signature covers the path the platform posted to: the one this request arrived on, never one the
    # caller names in a header (that let a signature made for another path pass here).
    headers["x-callback-path"] = request.scope.get("root_path", "") + request.url.path
    try:
        return hub.platform.receive_callback(headers, body)
    except PlatformRejected as exc:
        raise HTTPException(exc.status or 400, exc.message) from None


router = APIRouter(tags=["callbacks"], dependencies=[Depends(platform_signed)])


def _apply(hub, doc: dict) -> dict:
    status = str(doc["status"])
    if status not in PLATFORM_STATUSES:
        raise HTTPException(422, f"status must be one of {sorted(PLATFORM_STATUSES)}")
    with hub.sessions() as s, s.begin():
        case = s.scalar(select(Case).where(Case.case_no == str(doc["case_no"])))
        if case is None:
            raise HTTPException(404, f"no case {doc['case_no']} at this hub")
        if case.platform_status != status:
            case.platform_status = status
            case.updated_at = utcnow()
            audit.record(s, "platform", "case", case.receipt_no, "platform_status", status=status,
                         note=str(doc.get("note") or ""))
        return {"receipt_no": case.receipt_no, "case_no": case.case_no, "platform_status": status}


@router.post("/callbacks/platform")
async def platform_callback(request: Request, doc: dict = Depends(platform_signed)):
    result = await run_in_threadpool(_apply, request.app.state.hub, doc)
    log.info("platform status", extra={"receipt_no": result["receipt_no"], "status": result["platform_status"]})
    return result
