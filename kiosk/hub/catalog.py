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
from kiosk.hub.db import read_only
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
    return _refresh(hub, items, fetched)


def _refresh(hub, items: list[dict], fetched: dt.datetime | None) -> tuple[list[dict], str]:
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
    """(item count, oldest fetch time) of the cached copy: one aggregate query, no rows loaded."""
    with hub.sessions() as s:
        read_only(s)
        count, oldest = s.execute(select(func.count(CatalogEntry.item_code), func.min(CatalogEntry.fetched_at))).one()
    return count, (_aware(oldest) if oldest is not None else None)


def _encode(items: list[dict]) -> tuple[bytes, str]:
    body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def encoded_catalog(hub) -> tuple[bytes, str, str]:
    """(JSON body, strong ETag, source). The catalog is encoded once per cached copy and kept in memory: while
    the copy is fresh a request costs one aggregate query (so every hub on a shared database sees a refresh),
    not a load and encode of thousands of items."""
    stamp = _stamp(hub)
    count, fetched = stamp
    fresh = fetched is not None and utcnow() - fetched < dt.timedelta(seconds=hub.catalog_ttl_s)
    with _encoded_lock:
        hit = _encoded.get(id(hub))
    if fresh and hit is not None and hit[0] == stamp:
        return hit[1], hit[2], "cache"
    if fresh:
        items, _ = _cached(hub)
        source = "cache"
    else:
        items, fetched = _cached(hub) if fetched is not None else ([], None)
        items, source = _refresh(hub, items, fetched)
        if source == "platform":
            stamp = _stamp(hub)
    body, etag = _encode(items)
    if source != "stale-cache":
        with _encoded_lock:
            _encoded[id(hub)] = (stamp, body, etag)
    return body, etag, source


@router.get("")
def catalog(request: Request):
    """The catalog; `If-None-Match` with the last ETag answers 304 without a body."""
    body, etag, source = encoded_catalog(request.app.state.hub)
    headers = {"X-Catalog-Source": source, "ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
