"""Installer diagnostics on the hub: a token check with the hub's clock and the platform's reachability
(`GET /api/v1/diag/ping`), and each kiosk's `kiosk diag` reports (`POST /api/v1/diag/reports`), of which a
supervisor or installer lists the last one per kiosk (`GET /api/v1/diag/reports`, `GET …/reports/{device_id}`).

Reports carry no personal data (the kiosk's diag never puts any in); the hub keeps every report it is sent.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import time

import requests
from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import JSON, DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool

from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated, require_roles
from kiosk.hub.models import Base, utcnow

MAX_REPORT_BYTES = 256 * 1024  # a full report with every check is ~10 KiB
OVERALL = ("ok", "warning", "error")

router = APIRouter(prefix="/api/v1/diag", tags=["diagnostics"], dependencies=[Depends(authenticated)])
readers = require_roles("supervisor", "installer")
senders = require_roles("kiosk", "installer")


class DiagReport(Base):
    """One `kiosk diag` report as the kiosk sent it (table from migration 0007)."""

    __tablename__ = "diag_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100), index=True)
    sent_by: Mapped[str] = mapped_column(String(120))
    overall: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    report: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat(timespec="milliseconds")


def _platform_probe(platform) -> dict:
    """Reachability and clock of the platform behind this hub, from its /healthz and HTTP Date header."""
    base = getattr(platform, "base_url", None)
    if platform is None or not base:
        return {"configured": False, "reachable": False, "error": "the hub has no platform adapter configured"}
    out: dict = {"configured": True, "url": base, "reachable": False}
    try:
        sent = time.time()
        resp = requests.get(base + "/healthz", timeout=min(float(getattr(platform, "timeout", 5.0)), 5.0),
                            verify=getattr(getattr(platform, "http", None), "verify", True))
        received = time.time()
    except requests.RequestException as exc:
        out["error"] = f"{type(exc).__name__}"
        return out
    out["reachable"] = resp.status_code == 200
    out["http_status"] = resp.status_code
    date = resp.headers.get("date")
    if date:
        try:
            # The Date header has whole seconds (truncated): half a second is the best guess of the rest.
            platform_ts = email.utils.parsedate_to_datetime(date).timestamp() + 0.5
            out["skew_s"] = round(platform_ts - (sent + received) / 2, 1)
        except (TypeError, ValueError):
            pass
    return out


@router.get("/ping")
async def ping(request: Request, caller: Caller = Depends(authenticated)):
    """The caller's token is valid: who it is, the hub's clock, and whether the platform answers."""
    platform = await run_in_threadpool(_platform_probe, request.app.state.hub.platform)
    return {"caller": {"role": caller.role, "name": caller.name}, "hub_time": _iso(utcnow()), "platform": platform}


def _summary(row: DiagReport) -> dict:
    checks = row.report.get("checks", []) if isinstance(row.report, dict) else []
    failing = [c.get("check") or c.get("device") for c in checks if c.get("severity", "ok") != "ok"]
    return {"id": row.id, "device_id": row.device_id, "overall": row.overall, "level": row.level,
            "sent_by": row.sent_by, "created_at": _iso(row.created_at), "failing": failing}


def _store(hub, caller: Caller, report: dict) -> dict:
    device_id = caller.name if caller.role == "kiosk" else str(report.get("device_id") or caller.name)
    with hub.sessions() as s, s.begin():
        row = DiagReport(device_id=device_id, sent_by=caller.actor, overall=report["overall"],
                         level=str(report.get("level", "internal")), report=report, created_at=utcnow())
        s.add(row)
        s.flush()
        audit.record(s, caller.actor, "diag_report", device_id, "diag_report_stored", overall=row.overall)
        return _summary(row)


@router.post("/reports", status_code=201)
async def store_report(request: Request, caller: Caller = Depends(senders)):
    body = await request.body()
    if len(body) > MAX_REPORT_BYTES:
        raise HTTPException(413, f"a diagnostic report may be at most {MAX_REPORT_BYTES} bytes")
    try:
        report = await request.json()
    except ValueError:
        raise HTTPException(422, "send the report of `kiosk diag --json` as a JSON object") from None
    if not isinstance(report, dict) or report.get("overall") not in OVERALL or not isinstance(report.get("checks"), list):
        raise HTTPException(422, "not a diag report: it needs 'overall' (ok|warning|error) and a 'checks' list")
    return await run_in_threadpool(_store, request.app.state.hub, caller, report)


def _latest(hub) -> list[dict]:
    with hub.sessions() as s:
        newest = select(DiagReport.device_id, func.max(DiagReport.id).label("id")).group_by(DiagReport.device_id).subquery()
        rows = s.scalars(select(DiagReport).join(newest, DiagReport.id == newest.c.id).order_by(DiagReport.device_id))
        return [_summary(r) for r in rows]


@router.get("/reports")
async def list_latest(request: Request, _caller: Caller = Depends(readers)):
    """Each kiosk's last report, one row per kiosk."""
    return {"reports": await run_in_threadpool(_latest, request.app.state.hub)}


def _one(hub, device_id: str) -> dict:
    with hub.sessions() as s:
        row = s.scalar(select(DiagReport).where(DiagReport.device_id == device_id).order_by(DiagReport.id.desc()).limit(1))
        if row is None:
            raise HTTPException(404, f"kiosk {device_id} has sent no diagnostic report yet")
        return {**_summary(row), "report": row.report}


@router.get("/reports/{device_id}")
async def last_report(device_id: str, request: Request, _caller: Caller = Depends(readers)):
    return await run_in_threadpool(_one, request.app.state.hub, device_id)
