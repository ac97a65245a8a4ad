"""The service catalog: fetched from the platform through the adapter, cached in the hub database so it
still answers while the platform is down."""
from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import logging
import threading

from backports import zstd  # Python 3.14's compression.zstd; urllib3 (so the kiosk's requests) accepts zstd with it
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import delete, func, select

from kiosk import pinyin
from kiosk.hub.auth import authenticated
from kiosk.hub.db import read_only
from kiosk.hub.models import CatalogEntry, utcnow
from kiosk.hub.threads import platform_calls
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
_encoded: dict[int, tuple[tuple, "Encoded"]] = {}  # id(hub) → (cache stamp, the encoded catalog)


@dataclasses.dataclass(frozen=True)
class Encoded:
    """The catalog as sent: JSON and two compressed copies (made once, each sent to clients that accept it), each
    with its own ETag (another representation, another tag: RFC 9110 §8.8.3). zstd unpacks the 9 MB of 3,000
    items several times faster than gzip, which was most of a kiosk's time to have the catalog in hand."""
    body: bytes
    etag: str
    gzipped: bytes
    gzip_etag: str
    zstded: bytes
    zstd_etag: str

    def matches(self, if_none_match: str) -> bool:
        tags = (self.etag, self.gzip_etag, self.zstd_etag)
        return any(t.strip() in tags for t in if_none_match.split(","))

    def for_client(self, accept_encoding: str) -> tuple[bytes, str, str | None]:
        """(body, ETag, Content-Encoding) for a client's `Accept-Encoding`: zstd, else gzip, else plain JSON."""
        accepted = accepted_codings(accept_encoding)
        if "zstd" in accepted:
            return self.zstded, self.zstd_etag, "zstd"
        if "gzip" in accepted:
            return self.gzipped, self.gzip_etag, "gzip"
        return self.body, self.etag, None


def accepted_codings(accept_encoding: str) -> set[str]:
    """The content codings an `Accept-Encoding` header accepts (RFC 9110 §12.5.3): a coding with `q=0` is
    refused; `*` is not taken to mean zstd or gzip (a client that wants them names them)."""
    accepted = set()
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding and q > 0:
            accepted.add(coding)
    return accepted


def _stamp(hub) -> tuple:
    """(item count, oldest fetch time) of the cached copy: one aggregate query answered from indexes (the
    primary key's and ix_catalog_fetched_at), no item's JSON read."""
    with hub.sessions() as s:
        read_only(s)
        count, oldest = s.execute(select(func.count(), func.min(CatalogEntry.fetched_at)).select_from(CatalogEntry)).one()
    return count, (_aware(oldest) if oldest is not None else None)


def _encode(items: list[dict]) -> Encoded:
    """The items with the pinyin of their names (`pinyin`, `pinyin_initials`: read here once per copy, so the
    kiosks' search needs no pinyin data of its own, `kiosk.pinyin`), as JSON, gzip and zstd."""
    body = json.dumps(pinyin.with_keys(items), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    tag = hashlib.sha256(body).hexdigest()[:32]
    # mtime=0: the same catalog always compresses to the same bytes. zstd level 6 uses a 2 MB window at most,
    # within the 8 MB that HTTP clients must accept (RFC 9659).
    return Encoded(body, f'"{tag}"', gzip.compress(body, compresslevel=6, mtime=0), f'"{tag}-gzip"',
                   zstd.compress(body, level=6), f'"{tag}-zstd"')


def encoded_catalog(hub) -> tuple[Encoded, str]:
    """(the encoded catalog, source). The catalog is encoded (and compressed) once per cached copy and kept in
    memory: while the copy is fresh a request costs one aggregate query (so every hub on a shared database sees
    a refresh), not a load and encode of thousands of items."""
    stamp = _stamp(hub)
    count, fetched = stamp
    fresh = fetched is not None and utcnow() - fetched < dt.timedelta(seconds=hub.catalog_ttl_s)
    with _encoded_lock:
        hit = _encoded.get(id(hub))
    if fresh and hit is not None and hit[0] == stamp:
        return hit[1], "cache"
    if fresh:
        items, _ = _cached(hub)
        source = "cache"
    else:
        items, fetched = _cached(hub) if fetched is not None else ([], None)
        items, source = _refresh(hub, items, fetched)
        if source == "platform":
            stamp = _stamp(hub)
    encoded = _encode(items)
    if source != "stale-cache":
        with _encoded_lock:
            _encoded[id(hub)] = (stamp, encoded)
    return encoded, source


@router.get("")
@platform_calls
def catalog(request: Request):
    """The catalog, compressed (zstd, else gzip) for clients that accept it; `If-None-Match` with the last ETag
    answers 304 without a body."""
    encoded, source = encoded_catalog(request.app.state.hub)
    body, etag, coding = encoded.for_client(request.headers.get("accept-encoding", ""))
    headers = {"X-Catalog-Source": source, "ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if encoded.matches(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    if coding:
        headers["Content-Encoding"] = coding
    return Response(body, media_type="application/json", headers=headers)
