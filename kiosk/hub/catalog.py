"""The service catalog: fetched from the platform through the adapter, cached in the hub database so it
still answers while the platform is down."""
from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select

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


@router.get("")
def catalog(request: Request):
    items, source = load_catalog(request.app.state.hub)
    return JSONResponse(items, headers={"X-Catalog-Source": source})
