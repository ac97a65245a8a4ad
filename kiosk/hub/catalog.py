"""The service catalog: fetched from the platform through the adapter, cached in the hub database so it
still answers while the platform is down."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import delete, func, select

from kiosk.hub.auth import authenticated
from kiosk.hub.models import CatalogEntry, utcnow
from kiosk.hub.tus import _aware
from kiosk.platform.adapter import PlatformError

log = logging.getLogger("kiosk.hub.catalog")

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], dependencies=[Depends(authenticated)])


def _cached(hub) -> tuple[list[dict], dt.datetime | None]:
    with hub.sessions() as s:
        rows = list(s.scalars(select(CatalogEntry).order_by(CatalogEntry.position)))
    if not rows:
        return [], None
    return [r.data for r in rows], min(_aware(r.fetched_at) for r in rows)


def _store(hub, items: list[dict]) -> None:
    now = utcnow()
    with hub.sessions() as s, s.begin():
        s.execute(delete(CatalogEntry))
        for i, item in enumerate(items):
            s.add(CatalogEntry(item_code=str(item["item_code"]), position=i, data=item, fetched_at=now))


def load_catalog(hub) -> tuple[list[dict], str]:
    """(items, source) with source `cache` (fresh), `platform` or `stale-cache` (platform unreachable)."""
    items, fetched = _cached(hub)
    if fetched is not None and utcnow() - fetched < dt.timedelta(seconds=hub.catalog_ttl_s):
        return items, "cache"
    if hub.platform is not None:
        try:
            fresh = hub.platform.fetch_catalog()
        except PlatformError as exc:
            log.warning("catalog refresh failed", extra={"error": exc.message})
        else:
            _store(hub, fresh)
            return fresh, "platform"
    if fetched is None:
        raise HTTPException(503, "the platform is unreachable and the hub has no cached catalog yet;"
                                 " check the platform URL and credentials, then try again")
    return items, "stale-cache"


_encoded_lock = threading.Lock()
_encoded: dict[int, tuple[tuple, bytes, str]] = {}  # id(hub) → (cache stamp, JSON body, ETag)


def _stamp(hub) -> tuple:
    with hub.sessions() as s:
        return tuple(s.execute(select(func.count(CatalogEntry.item_code), func.min(CatalogEntry.fetched_at))).one())


def _encode(hub, items: list[dict]) -> tuple[bytes, str]:
    """The catalog as JSON bytes and its strong ETag, encoded once per cached copy (the catalog is a few hundred
    kilobytes; kiosks fetch it at every session)."""
    stamp = _stamp(hub)
    with _encoded_lock:
        hit = _encoded.get(id(hub))
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2]
    body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    with _encoded_lock:
        _encoded[id(hub)] = (stamp, body, etag)
    return body, etag


@router.get("")
def catalog(request: Request):
    """The catalog; `If-None-Match` with the last ETag answers 304 without a body."""
    hub = request.app.state.hub
    items, source = load_catalog(hub)
    body, etag = _encode(hub, items)
    headers = {"X-Catalog-Source": source, "ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
