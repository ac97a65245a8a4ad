"""HTTP routes of the 代办 API (docs/proxy-api.md) and `install(app, hub)`, which wires the service, its sweeper
and (on PostgreSQL) its LISTEN connection into the hub app."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from kiosk.hub import outlets
from kiosk.hub.auth import Caller, authenticated
from kiosk.hub.cases import _clean_key
from kiosk.hub.limits import limited_route
from kiosk.hub.pg_statements import libpq_url
from kiosk.hub.proxy_feed import Feed, PgListener, channel_name
from kiosk.hub.proxy_schemas import (STATUSES, ClaimIn, EscalationIn, MandateActionIn, MandateIn, MandateOut,
                                     ProxyRequestDetail, ProxyRequestIn, ProxyRequestList, ProxyRequestOut,
                                     TransitionIn)
from kiosk.hub.proxy_service import ProxyError, ProxyService, ProxySettings

log = logging.getLogger("kiosk.hub.proxy_api")

MAX_BODY = 1024 * 1024
MAX_ID = 2 ** 31 - 1
KEEPALIVE_S = 15.0

_errors = {code: {"description": text} for code, text in (
    (400, "bad header"), (403, "not allowed for this token (reason in detail)"), (404, "unknown, or not yours"),
    (409, "not allowed in the current state: {detail, status, level}"), (413, "body too large"),
    (422, "invalid body, or refused by a rule (reason in detail)"))}

router = APIRouter(prefix="/api/v1/proxy-requests", tags=["proxy"], dependencies=[Depends(authenticated)],
                   route_class=limited_route(MAX_BODY), responses=_errors)
mandates = APIRouter(prefix="/api/v1/mandates", tags=["proxy"], dependencies=[Depends(authenticated)],
                     route_class=limited_route(MAX_BODY), responses=_errors)


def _svc(request: Request) -> ProxyService:
    return request.app.state.proxy


def _headers_doc(*names: str) -> dict:
    """OpenAPI for optional headers a route reads itself (`openapi_extra`): as FastAPI documents
    `Header(default=None)`. The create, the claim and the transitions, a clerk's every call, read theirs from
    `request.headers`: FastAPI's header parameters walk every header the request carries and look at each
    declared one's type twice, on every call."""
    return {"parameters": [{"name": name.lower(), "in": "header", "required": False,
                            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": name}}
                           for name in names]}


def _device(raw: str | None) -> str | None:
    if raw is None:
        return None
    raw = raw.strip()
    return raw[:64] if raw and raw.isprintable() else None


def _device_of(headers) -> str | None:
    """`X-Device-Id` read from the request's headers (the routes that do not declare it as a parameter)."""
    return _device(headers.get("x-device-id"))


def _refusal(exc: ProxyError) -> JSONResponse:
    """A refusal in words with its status (and `Retry-After` when the caller should simply try again)."""
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


def _answer(fn: Callable, *args, status_code: int = 200, **kwargs):
    """`fn`'s document as JSON with `status_code`, or the refusal in words with its own status."""
    return _answer_status(lambda: (status_code, fn(*args, **kwargs)))


def _answer_status(fn: Callable, *args, **kwargs):
    """For calls that choose their status themselves (201 created, 200 a replay): `fn` returns (status, doc)."""
    try:
        status, doc = fn(*args, **kwargs)
    except ProxyError as exc:
        return _refusal(exc)
    return JSONResponse(doc, status_code=status)


@router.post("", status_code=201, response_model=ProxyRequestOut,
             responses={200: {"description": "replay of an earlier request with the same key",
                              "model": ProxyRequestOut}, 503: {"description": "catalog unavailable"}},
             openapi_extra=_headers_doc("Idempotency-Key", "X-Device-Id"))
async def create_request(body: ProxyRequestIn, request: Request, caller: Caller = Depends(authenticated)):
    """Create a 代办 request or 办不成事 report (idempotent by `Idempotency-Key`)."""
    headers = request.headers
    svc, key = _svc(request), _clean_key(headers.get("idempotency-key"))
    device = _device_of(headers)
    try:
        done = await svc.create_on_loop(caller, key, body, device)  # PostgreSQL, every check from memory
    except ProxyError as exc:
        return _refusal(exc)
    if done is not None:
        return JSONResponse(done[1], status_code=done[0])
    return await run_in_threadpool(_answer_status, svc.create, caller, key, body, device)


@router.post("/claim", response_model=ProxyRequestOut, responses={204: {"description": "nothing waits"}},
             openapi_extra=_headers_doc("X-Device-Id"))
async def claim(body: ClaimIn, request: Request, caller: Caller = Depends(authenticated)):
    """Claim the best request of the caller's outlet subtree (green first, then oldest), or `204`."""
    svc = _svc(request)
    device = _device_of(request.headers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_s
    wakes = None
    if body.wait_s > 0 and body.id is None:
        codes: list[frozenset] = []  # the subtree, computed by the first publishing thread (not on this loop)

        def wakes(e: dict) -> bool:  # a request this claim could take entered the pool
            if not codes:
                codes.append(frozenset(svc.tree.subtree(body.outlet or caller.outlet_code or "")))
            return (e.get("outlet") in codes[0] and (body.mode is None or e.get("mode") == body.mode)
                    and (body.kind is None or e.get("kind") == body.kind))

    wid = fut = None
    try:
        while True:
            if wakes is not None:
                wid, fut = svc.feed.wait_one(wakes)  # before each try: nothing slips between
            try:
                handled, doc = await svc.claim_on_loop(caller, body, device)
                if not handled:
                    doc = await run_in_threadpool(svc.claim, caller, body, device)
            except ProxyError as exc:
                return _refusal(exc)
            if doc is not None:
                return JSONResponse(doc)
            left = deadline - loop.time()
            if fut is None or left <= 0:
                return Response(status_code=204)
            try:  # one waiter is woken per new request (kiosk.hub.proxy_feed.Feed.wake_one)
                await asyncio.wait_for(asyncio.shield(fut), timeout=left)
            except asyncio.TimeoutError:
                if not fut.done():
                    return Response(status_code=204)
            wid = None  # woken: the feed dropped this waiter; try again (a last time once the wait is over)
            if deadline - loop.time() <= 0:
                wakes = fut = None
    finally:
        if wid is not None:
            svc.feed.cancel_wait(wid)
            if fut.done() and not fut.cancelled():
                svc.feed.wake_one(fut.result())  # woken but leaving without trying: the next waiter's turn
            else:
                fut.cancel()  # a wake already on its way to this waiter goes to the next one (Feed._resolve)


def _sse(event: dict) -> str:
    public = {k: v for k, v in event.items() if not k.startswith("_")}
    return f"id: {event['event_id']}\nevent: proxy\ndata: {json.dumps(public, ensure_ascii=False)}\n\n"


@router.get("/feed", response_class=StreamingResponse,
            responses={200: {"description": "text/event-stream of request events", "content": {"text/event-stream": {}}}})
async def feed(request: Request, caller: Caller = Depends(authenticated)):
    """Server-sent events: one message per request event the caller may see, within a second of the change."""
    svc = _svc(request)
    try:
        accept = svc.feed_filter(caller)
    except ProxyError as exc:
        return _refusal(exc)
    sid, queue = svc.feed.subscribe(accept)
    hello = {"role": caller.role, "outlet": caller.outlet_code, "level": caller.level}

    async def stream():
        idle = 0.0
        try:
            yield "retry: 2000\n\n"
            yield f"event: ready\ndata: {json.dumps(hello, ensure_ascii=False)}\n\n"
            while not svc.closing.is_set():
                if queue.empty():
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except asyncio.TimeoutError:
                        if await request.is_disconnected():
                            return
                        idle += 1.0
                        if idle >= KEEPALIVE_S:
                            idle = 0.0
                            yield ": keepalive\n\n"
                        continue
                else:
                    event = queue.get_nowait()
                batch = [event]  # under load events queue up: send what waits in one write, not one per turn
                while len(batch) < 200 and not queue.empty():
                    batch.append(queue.get_nowait())
                yield "".join(_sse(e) for e in batch)
        finally:
            svc.feed.unsubscribe(sid)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/{request_id}/transitions", response_model=ProxyRequestOut, openapi_extra=_headers_doc("X-Device-Id"))
async def transition(body: TransitionIn, request: Request, request_id: int = Path(ge=1, le=MAX_ID),
                     caller: Caller = Depends(authenticated)):
    """Move a request through the state machine (docs/proxy-api.md); `409` with the current state if not allowed."""
    svc, device = _svc(request), _device_of(request.headers)
    try:
        doc = await svc.transition_on_loop(caller, request_id, body, device)  # a holder's start/complete
    except ProxyError as exc:
        return _refusal(exc)
    if doc is not None:
        return JSONResponse(doc)
    return await run_in_threadpool(_answer, svc.transition, caller, request_id, body, device, fast=False)


@router.post("/{request_id}/escalations", response_model=ProxyRequestOut)
def escalate(body: EscalationIn, request: Request, request_id: int = Path(ge=1, le=MAX_ID),
             caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Escalate one level up (holder, level owner) or de-escalate one level down (level owner), with a reason."""
    return _answer(_svc(request).escalate, caller, request_id, body, _device(x_device_id))


@router.get("", response_model=ProxyRequestList)
def list_requests(request: Request, caller: Caller = Depends(authenticated),
                  status: str | None = Query(default=None, max_length=200,
                                             description="comma-separated: new,claimed,…"),
                  outlet: str | None = Query(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"),
                  level: int | None = Query(default=None, ge=0, le=3),
                  mode: str | None = Query(default=None, pattern="^(remote_guidance|home_visit|full_proxy)$"),
                  kind: str | None = Query(default=None, pattern="^(proxy|complaint)$"),
                  overdue: bool | None = Query(default=None), mine: bool = Query(default=False),
                  limit: int = Query(default=50, ge=1, le=200), offset: int = Query(default=0, ge=0, le=10 ** 6)):
    """Requests the caller may see, best first (priority, then age), personal fields masked."""
    statuses = None
    if status:
        statuses = [x.strip() for x in status.split(",") if x.strip()]
        bad = [x for x in statuses if x not in STATUSES]
        if bad:
            return JSONResponse({"detail": f"unknown status {bad[0]!r}; use {', '.join(STATUSES)}"}, status_code=422)
    return _answer(_svc(request).list, caller, status=statuses, outlet=outlet, level=level, mode=mode, kind=kind,
                   overdue=overdue, mine=mine, limit=limit, offset=offset)


@router.get("/{request_id}", response_model=ProxyRequestDetail)
def detail(request: Request, request_id: int = Path(ge=1, le=MAX_ID), caller: Caller = Depends(authenticated),
           unmasked: bool = Query(default=False), x_device_id: str | None = Header(default=None)):
    """One request with its events and 委托书; `unmasked=true` for the holder and the level owner."""
    return _answer(_svc(request).detail, caller, request_id, unmasked, _device(x_device_id))


@router.get("/{request_id}/materials/{upload_id}", response_class=FileResponse,
            responses={200: {"description": "the scan as uploaded"}, 403: {"description": "not the holder or owner"},
                       404: {"description": "no such material, or no longer kept (the request closed)"}})
def material(request: Request, request_id: int = Path(ge=1, le=MAX_ID),
             upload_id: str = Path(pattern=r"^[0-9a-f]{32}$"), caller: Caller = Depends(authenticated),
             x_device_id: str | None = Header(default=None)):
    """One scan the citizen attached to the request, for its holder and the level that owns it (audited)."""
    try:
        f = _svc(request).material(caller, request_id, upload_id, _device(x_device_id))
    except ProxyError as exc:
        return _refusal(exc)
    return FileResponse(f["path"], media_type=f["media_type"], filename=f["filename"],
                        headers={"Cache-Control": "no-store"})


@mandates.post("", status_code=201, response_model=MandateOut,
               responses={200: {"description": "the same 委托书 sent again (a retry): the recorded one",
                                "model": MandateOut}})
def create_mandate(body: MandateIn, request: Request, caller: Caller = Depends(authenticated),
                   x_device_id: str | None = Header(default=None)):
    """Record a 代办服务委托书 (status `pending`) for a proxy request; the same one sent again answers 200 with it."""
    return _answer_status(_svc(request).create_mandate, caller, body, _device(x_device_id))


@mandates.get("/{mandate_id}", response_model=MandateOut)
def get_mandate(request: Request, mandate_id: int = Path(ge=1, le=MAX_ID), caller: Caller = Depends(authenticated)):
    return _answer(_svc(request).mandate_doc, caller, mandate_id)


@mandates.get("/{mandate_id}/signature", response_class=Response,
              responses={200: {"content": {"image/png": {}}, "description": "the citizen's signature"}})
def mandate_signature(request: Request, mandate_id: int = Path(ge=1, le=MAX_ID),
                      caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    try:
        png = _svc(request).mandate_signature(caller, mandate_id, _device(x_device_id))
    except ProxyError as exc:
        return _refusal(exc)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@mandates.post("/{mandate_id}/actions", response_model=MandateOut)
def mandate_action(body: MandateActionIn, request: Request, mandate_id: int = Path(ge=1, le=MAX_ID),
                   caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """activate | suspend (中止) | renew (续办) | revoke | complete (办结); `409` with the current status."""
    return _answer(_svc(request).mandate_action, caller, mandate_id, body, _device(x_device_id))


# -- wiring ---------------------------------------------------------------------------------------

class ProxyRuntime:
    """The service's background parts: the SLA sweeper and, on PostgreSQL, the LISTEN connection (on the event
    loop: `start` runs there, in the app's lifespan)."""

    def __init__(self, service: ProxyService) -> None:
        from kiosk.hub.proxy_sweeper import Sweeper

        self.service = service
        self.sweeper = Sweeper(service)
        self.listener: PgListener | None = None  # kept after stop() until close_connections awaits its end

    def start(self) -> None:
        svc = self.service
        svc.closing.clear()
        if svc.is_pg and svc.channel:
            self.listener = PgListener(libpq_url(svc.hub.engine), svc.channel, svc.feed)
            self.listener.start()
        self.sweeper.start()

    def stop(self) -> None:
        self.service.closing.set()  # open feeds end, so the server can shut down
        self.sweeper.stop()
        if self.listener is not None:
            self.listener.stop()


def install(app: FastAPI, hub) -> ProxyService:
    """Create the 代办 service for `hub` (key, settings from proxy.toml), mount its routes, return it."""
    from sqlalchemy import text

    from kiosk.hub.crypto import hub_cipher, load_hub_key

    hub_dir = hub.upload_dir.parent
    cipher = getattr(hub, "cipher", None)
    if cipher is None:  # create_app sets it; a hub built otherwise gets the same (the carried HMAC key)
        cipher = hub_cipher(load_hub_key(hub_dir), hub.sessions)
        hub.cipher = cipher  # shared with the case fields (kiosk.hub.case_fields)
    service = ProxyService(hub, cipher, ProxySettings.load(hub_dir), feed=Feed())
    if service.is_pg:
        with hub.engine.connect() as conn:
            service.channel = channel_name(conn.execute(text("SELECT current_schema()")).scalar())
    app.state.proxy = service
    app.state.proxy_runtime = ProxyRuntime(service)
    app.include_router(outlets.router)
    app.include_router(router)
    app.include_router(mandates)
    return service


def start(app: FastAPI) -> None:
    runtime = getattr(app.state, "proxy_runtime", None)
    if runtime is not None:
        runtime.start()


def stop(app: FastAPI) -> None:
    runtime = getattr(app.state, "proxy_runtime", None)
    if runtime is not None:
        runtime.stop()


async def close_connections(app: FastAPI) -> None:
    """The event loop's own database connections (PostgreSQL), closed on that loop when the hub stops."""
    runtime = getattr(app.state, "proxy_runtime", None)
    if runtime is None:
        return
    if runtime.listener is not None:
        await runtime.listener.closed()
        runtime.listener = None
    if runtime.service._apg is not None:
        await runtime.service._apg.close()
