"""tus 1.0.0 resumable uploads at /files/: core, creation, creation-with-upload, expiration, checksum
(sha1, sha256) and termination (tus-resumable-upload-protocol, protocol.md).

The kiosk uploads each material here; a case then refers to its upload URL, and the hub checks the
upload is complete and its SHA-256 matches before it accepts the case.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import io
import logging
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated
from kiosk.hub.models import Upload, utcnow

log = logging.getLogger("kiosk.hub.tus")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,expiration,checksum,termination"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}  # tus checksum extension: sha1 is mandatory
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
STATUS_CHECKSUM_MISMATCH = 460  # tus checksum extension


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _http_date(value: dt.datetime) -> str:
    return email.utils.format_datetime(_aware(value).astimezone(dt.timezone.utc), usegmt=True)


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=_tus_headers(**headers))


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64value,key2 base64value2` (tus 1.0 creation extension)."""
    result: dict[str, str] = {}
    if not header:
        return result
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or " " in value.strip():
            raise ValueError(f"bad Upload-Metadata pair {pair[:40]!r}")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return result


def upload_path(upload_dir: Path, upload_id: str) -> Path:
    return upload_dir / f"{upload_id}.bin"


def upload_id_from_url(url: str) -> str | None:
    tail = url.rstrip("/").rsplit("/files/", 1)
    if len(tail) != 2 or not tail[1] or "/" in tail[1]:
        return None
    return tail[1]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_version(request: Request) -> JSONResponse | None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        return _error(412, f"Tus-Resumable must be {TUS_VERSION}", **{"Tus-Version": TUS_VERSION})
    return None


open_router = APIRouter()
router = APIRouter(dependencies=[Depends(authenticated)])


@open_router.options("/files/")
@open_router.options("/files/{upload_id}")
def options(request: Request) -> Response:
    hub = request.app.state.hub
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(hub.max_upload_bytes), "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    })


def _append(request: Request, upload_id: str, caller: Caller, offset: int, chunk: bytes) -> dict:
    """Write `chunk` at `offset` under the upload row's lock; returns the new state or an error."""
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        row = s.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
        if row is None or row.owner != caller.actor:
            return {"error": (404, "no such upload")}
        if row.purged or _aware(row.expires_at) < utcnow():
            return {"error": (410, "upload expired or terminated; create a new one")}
        if row.offset != offset:
            return {"error": (409, f"Upload-Offset {offset} does not match the server's offset {row.offset}"),
                    "offset": row.offset}
        if offset + len(chunk) > row.length:
            return {"error": (400, f"chunk would exceed Upload-Length {row.length}")}
        path = upload_path(hub.upload_dir, upload_id)
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(chunk)
            f.truncate()
            f.flush()
        new_offset = offset + len(chunk)
        s.execute(update(Upload).where(Upload.id == upload_id).values(offset=new_offset))
        if new_offset == row.length:
            digest = _file_sha256(path)
            s.execute(update(Upload).where(Upload.id == upload_id).values(sha256=digest))
            audit.record(s, caller.actor, "upload", upload_id, "completed", bytes=row.length, sha256=digest)
        return {"offset": new_offset, "expires_at": row.expires_at}


async def _read_body(request: Request) -> tuple[bytes, bool]:
    """The request body and whether it arrived whole (False if the client went away part-way)."""
    buf = io.BytesIO()
    try:
        async for piece in request.stream():
            buf.write(piece)
    except ClientDisconnect:
        return buf.getvalue(), False
    return buf.getvalue(), True


def _verify_checksum(header: str | None, chunk: bytes) -> JSONResponse | None:
    if not header:
        return None
    algo, _, value = header.strip().partition(" ")
    fn = CHECKSUMS.get(algo.lower())
    if fn is None:
        return _error(400, f"unsupported checksum algorithm {algo!r}; use one of {sorted(CHECKSUMS)}")
    try:
        expected = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        return _error(400, "Upload-Checksum value is not base64")
    if fn(chunk).digest() != expected:
        return _error(STATUS_CHECKSUM_MISMATCH, "Checksum Mismatch: the chunk was discarded; send it again")
    return None


async def _patch_body(request: Request, upload_id: str, caller: Caller, offset: int) -> Response:
    chunk, whole = await _read_body(request)
    checksum = request.headers.get("upload-checksum")
    if not whole:
        if checksum or not chunk:
            return Response(status_code=400)  # nobody is listening; a checksummed partial chunk is discarded
        log.info("upload interrupted; keeping the bytes that arrived", extra={"upload_id": upload_id, "bytes": len(chunk)})
    else:
        bad = _verify_checksum(checksum, chunk)
        if bad is not None:
            return bad
    result = await run_in_threadpool(_append, request, upload_id, caller, offset, chunk)
    if "error" in result:
        status, message = result["error"]
        extra = {"Upload-Offset": str(result["offset"])} if "offset" in result else {}
        return _error(status, message, **extra)
    return Response(status_code=204, headers=_tus_headers(**{
        "Upload-Offset": str(result["offset"]), "Upload-Expires": _http_date(result["expires_at"])}))


@router.post("/files/")
async def create(request: Request, caller: Caller = Depends(authenticated)) -> Response:
    hub = request.app.state.hub
    if (bad := _check_version(request)) is not None:
        return bad
    if request.headers.get("upload-defer-length"):
        return _error(400, "Upload-Defer-Length is not supported; send Upload-Length")
    try:
        length = int(request.headers.get("upload-length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        return _error(400, "Upload-Length is required: the total size in bytes")
    if length > hub.max_upload_bytes:
        return _error(413, f"Upload-Length {length} exceeds Tus-Max-Size {hub.max_upload_bytes}")
    try:
        metadata = parse_metadata(request.headers.get("upload-metadata"))
    except ValueError as exc:
        return _error(400, str(exc))
    upload_id = uuid.uuid4().hex
    expires = utcnow() + dt.timedelta(seconds=hub.upload_ttl_s)

    def insert() -> None:
        upload_path(hub.upload_dir, upload_id).write_bytes(b"")
        with hub.sessions() as s, s.begin():
            s.add(Upload(id=upload_id, length=length, offset=0, metadata_json=metadata, owner=caller.actor,
                         expires_at=expires, sha256=hashlib.sha256(b"").hexdigest() if length == 0 else None))
            audit.record(s, caller.actor, "upload", upload_id, "created", bytes=length,
                         filename=metadata.get("filename", ""))

    await run_in_threadpool(insert)
    location = f"{str(request.base_url).rstrip('/')}/files/{upload_id}"
    headers = _tus_headers(Location=location, **{"Upload-Expires": _http_date(expires)})
    if request.headers.get("content-type", "").startswith(OFFSET_CONTENT_TYPE):
        resp = await _patch_body(request, upload_id, caller, 0)
        if resp.status_code != 204:
            return resp
        headers["Upload-Offset"] = resp.headers["Upload-Offset"]
    return Response(status_code=201, headers=headers)


@router.head("/files/{upload_id}")
def head(upload_id: str, request: Request, caller: Caller = Depends(authenticated)) -> Response:
    hub = request.app.state.hub
    with hub.sessions() as s:
        row = s.get(Upload, upload_id)
    if row is None or row.owner != caller.actor:
        return Response(status_code=404, headers=_tus_headers(**{"Cache-Control": "no-store"}))
    if row.purged or _aware(row.expires_at) < utcnow():
        return Response(status_code=410, headers=_tus_headers(**{"Cache-Control": "no-store"}))
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in row.metadata_json.items())
    headers = {"Upload-Offset": str(row.offset), "Upload-Length": str(row.length), "Cache-Control": "no-store",
               "Upload-Expires": _http_date(row.expires_at)}
    if meta:
        headers["Upload-Metadata"] = meta
    return Response(status_code=200, headers=_tus_headers(**headers))


@router.patch("/files/{upload_id}")
async def patch(upload_id: str, request: Request, caller: Caller = Depends(authenticated)) -> Response:
    if (bad := _check_version(request)) is not None:
        return bad
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        return _error(415, f"Content-Type must be {OFFSET_CONTENT_TYPE}")
    try:
        offset = int(request.headers.get("upload-offset", ""))
    except ValueError:
        return _error(400, "Upload-Offset is required")
    return await _patch_body(request, upload_id, caller, offset)


@router.delete("/files/{upload_id}")
def terminate(upload_id: str, request: Request, caller: Caller = Depends(authenticated)) -> Response:
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        row = s.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
        if row is None or row.owner != caller.actor or row.purged:
            return Response(status_code=404, headers=_tus_headers())
        if row.bound_to:
            return _error(409, f"upload belongs to case {row.bound_to}; it is deleted once the platform has it")
        row.purged = True
        audit.record(s, caller.actor, "upload", upload_id, "terminated")
    upload_path(hub.upload_dir, upload_id).unlink(missing_ok=True)
    return Response(status_code=204, headers=_tus_headers())
