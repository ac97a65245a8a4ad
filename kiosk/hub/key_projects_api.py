"""HTTP routes of 重点项目 (key projects, docs/proxy-api.md "Key projects") under /api/v1/key-projects, and
`install(app, hub)`, which mounts them beside the 代办 routes. Every rule lives in kiosk.hub.key_projects."""
from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from kiosk.hub.auth import Caller, authenticated
from kiosk.hub.cases import _clean_key
from kiosk.hub.key_projects import (STATUSES, AssignIn, EntryIn, KeyProjectDetail, KeyProjectIn, KeyProjectList,
                                    KeyProjectOut, KeyProjectService, LinkIn, NoteIn)
from kiosk.hub.limits import limited_route
from kiosk.hub.proxy_api import MAX_BODY, MAX_ID, _answer, _answer_status, _device, _errors

router = APIRouter(prefix="/api/v1/key-projects", tags=["key projects"], dependencies=[Depends(authenticated)],
                   route_class=limited_route(MAX_BODY), responses=_errors)


def _svc(request: Request) -> KeyProjectService:
    return request.app.state.key_projects




@router.post("", status_code=201, response_model=KeyProjectOut,
             responses={200: {"description": "replay of an earlier request with the same key", "model": KeyProjectOut}})
def create_project(body: KeyProjectIn, request: Request, caller: Caller = Depends(authenticated),
                   idempotency_key: str | None = Header(default=None),
                   x_device_id: str | None = Header(default=None)):
    """Open a key project (重点项目), optionally with its 代办专员 (idempotent by `Idempotency-Key`)."""
    return _answer_status(_svc(request).create, caller, _clean_key(idempotency_key), body, _device(x_device_id))


@router.get("", response_model=KeyProjectList)
def list_projects(request: Request, caller: Caller = Depends(authenticated),
                  status: str | None = Query(default=None, max_length=100, description="comma-separated: open,…"),
                  outlet: str | None = Query(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"),
                  specialist: str | None = Query(default=None, pattern=r"^[a-z]+:[^\x00-\x1f\x7f]{1,90}$"),
                  uscc: str | None = Query(default=None, pattern=r"^[0-9A-Za-z]{18}$"),
                  mine: bool = Query(default=False),
                  limit: int = Query(default=50, ge=1, le=200), offset: int = Query(default=0, ge=0, le=10 ** 6)):
    """Key projects of the caller's outlet subtree (all for a supervisor), oldest first."""
    statuses = None
    if status:
        statuses = [x.strip() for x in status.split(",") if x.strip()]
        bad = [x for x in statuses if x not in STATUSES]
        if bad:
            return JSONResponse({"detail": f"unknown status {bad[0]!r}; use {', '.join(STATUSES)}"}, status_code=422)
    return _answer(_svc(request).list, caller, status=statuses, outlet=outlet, specialist=specialist, mine=mine,
                   uscc=uscc, limit=limit, offset=offset)


@router.get("/{project_id}", response_model=KeyProjectDetail)
def detail(request: Request, project_id: int = Path(ge=1, le=MAX_ID), caller: Caller = Depends(authenticated),
           unmasked: bool = Query(default=False), x_device_id: str | None = Header(default=None)):
    """One key project with its 档案 and events; `unmasked=true` for the 专员 and the levels above 代办员."""
    return _answer(_svc(request).detail, caller, project_id, unmasked, _device(x_device_id))


@router.post("/{project_id}/specialist", response_model=KeyProjectOut)
def assign(body: AssignIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
           caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Assign (or reassign) the one 代办专员; the previous one stops being it in the same change."""
    return _answer(_svc(request).assign, caller, project_id, body, _device(x_device_id))


@router.post("/{project_id}/entries", status_code=201, response_model=KeyProjectDetail)
def add_entry(body: EntryIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
              caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Add a note, a case (receipt_no) or a document (upload_id) to the 档案; `409` once the project is closed."""
    return _answer(_svc(request).add_entry, caller, project_id, body, _device(x_device_id), status_code=201)


@router.post("/{project_id}/proxy-requests", status_code=201, response_model=KeyProjectDetail)
def link_request(body: LinkIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
                 caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Link a proxy request to the 档案 (a request belongs to one project at most: `409` otherwise)."""
    return _answer(_svc(request).link_request, caller, project_id, body, _device(x_device_id), status_code=201)


@router.post("/{project_id}/close", response_model=KeyProjectOut)
def close(body: NoteIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
          caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """销号: close the project with a note; `409` listing the linked proxy requests that are still open."""
    return _answer(_svc(request).close, caller, project_id, body, _device(x_device_id))


@router.post("/{project_id}/suspend", response_model=KeyProjectOut)
def suspend(body: NoteIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
            caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Suspend an open project, with the reason."""
    return _answer(_svc(request).suspend, caller, project_id, body, device=_device(x_device_id))


@router.post("/{project_id}/resume", response_model=KeyProjectOut)
def resume(body: NoteIn, request: Request, project_id: int = Path(ge=1, le=MAX_ID),
           caller: Caller = Depends(authenticated), x_device_id: str | None = Header(default=None)):
    """Resume a suspended project."""
    return _answer(_svc(request).suspend, caller, project_id, body, resume=True, device=_device(x_device_id))


def install(app: FastAPI, hub) -> KeyProjectService:
    """Create the key-project service (it shares the hub key and the outlet tree of the 代办 service)."""
    proxy = app.state.proxy
    service = KeyProjectService(hub, proxy.cipher, proxy.tree)
    app.state.key_projects = service
    app.include_router(router)
    return service
