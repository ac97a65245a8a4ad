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
import fcntl
import hashlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from kiosk.hub import audit
from kiosk.hub.auth import Caller, authenticated
from kiosk.hub.db import read_only
from kiosk.hub.limits import disk_full_response, is_disk_full
from kiosk.hub.models import Upload, utcnow
from kiosk.hub.schemas import bad_char
from kiosk.hub.storage import PART_SUFFIX

log = logging.getLogger("kiosk.hub.tus")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,expiration,checksum,termination"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}  # tus checksum extension: sha1 is mandatory
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
STATUS_CHECKSUM_MISMATCH = 460  # tus checksum extension
READ_ONLY_ROLES = {"installer"}  # may read diagnostics, never store anything
MAX_METADATA_VALUE = 255
_DIGITS = re.compile(r"^[0-9]{1,15}$")  # Upload-Length / Upload-Offset: plain decimal, nothing int() also takes
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")  # what create() hands out; anything else is unknown (never reaches SQL)


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
        if len(key) > 64 or len(result[key]) > MAX_METADATA_VALUE or bad_char(key) or bad_char(result[key]):
            raise ValueError(f"Upload-Metadata {key[:40]!r}: keys up to 64 and values up to {MAX_METADATA_VALUE}"
                             " printable characters on one line")
    name = result.get("filename")
    if name is not None and (not name.strip() or "/" in name or "\\" in name or name in (".", "..")):
        raise ValueError("Upload-Metadata filename must be a plain file name (no folders), e.g. id-card.pdf")
    return result


def safe_filename(name: str | None, fallback: str) -> str:
    """The last path component of `name`, for what goes to the platform (rows written before names were checked)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", "..") or bad_char(base):
        return fallback
    return base[:MAX_METADATA_VALUE]


def upload_path(upload_dir: Path, upload_id: str) -> Path:
    return upload_dir / f"{upload_id}.bin"


def _part_path(upload_dir: Path, upload_id: str) -> Path:
    return upload_dir / f".{upload_id}.{uuid.uuid4().hex[:8]}{PART_SUFFIX}"


def _parse_length(value: str | None) -> int | None:
    return int(value) if value is not None and _DIGITS.match(value) else None


def upload_id_from_url(url: str) -> str | None:
    tail = url.rstrip("/").rsplit("/files/", 1)
    if len(tail) != 2 or not _UPLOAD_ID.match(tail[1]):
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


async def uploader(caller: Caller = Depends(authenticated)) -> Caller:  # async: no worker thread for a comparison
    if caller.role in READ_ONLY_ROLES:
        raise HTTPException(403, f"role {caller.role!r} is read-only and may not upload files")
    return caller


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


def _append(hub, upload_id: str, caller: Caller, offset: int, part: Path, size: int) -> dict:
    """Append the chunk kept in `part` at `offset`; returns the new state or an error.

    The chunk arrived in a file of its own first, so a slow client never holds anything. Here the upload's own
    file lock (flock, per upload) keeps two PATCHes of one upload apart while the bytes are copied into place
    with no database transaction open; the new offset is then stored by a short compare-and-set update, which
    also refuses the chunk if the upload was terminated or purged meanwhile."""
    path = upload_path(hub.upload_dir, upload_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with hub.sessions() as s:
            read_only(s)
            row = s.get(Upload, upload_id)
            if row is None or row.owner != caller.actor:
                return {"error": (404, "no such upload")}
            if row.purged or _aware(row.expires_at) < utcnow():
                return {"error": (410, "upload expired or terminated; create a new one")}
            if row.offset != offset:
                return {"error": (409, f"Upload-Offset {offset} does not match the server's offset {row.offset}"),
                        "offset": row.offset}
            if offset + size > row.length:
                return {"error": (400, f"chunk would exceed Upload-Length {row.length}")}
            length, expires_at = row.length, row.expires_at
        with os.fdopen(os.dup(fd), "r+b") as f, open(part, "rb") as src:
            f.seek(offset)
            shutil.copyfileobj(src, f, 1 << 20)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
        new_offset = offset + size
        values: dict = {"offset": new_offset}
        if new_offset == length:
            values["sha256"] = _file_sha256(path)
        with hub.sessions() as s, s.begin():
            done = s.execute(update(Upload).where(Upload.id == upload_id, Upload.offset == offset,
                                                  Upload.purged.is_(False)).values(**values)).rowcount
            if done != 1:
                return {"error": (409, "the upload changed while this chunk was written; ask for its offset (HEAD)")}
            if "sha256" in values:
                audit.record(s, caller.actor, "upload", upload_id, "completed", bytes=length, sha256=values["sha256"])
        return {"offset": new_offset, "expires_at": expires_at}
    finally:
        os.close(fd)  # releases the flock


def _peek(hub, upload_id: str, caller: Caller) -> dict:
    """The upload's state without a lock: enough to refuse a request before reading its body."""
    with hub.sessions() as s:
        read_only(s)
        row = s.get(Upload, upload_id)
        if row is None or row.owner != caller.actor:
            return {"error": (404, "no such upload")}
        if row.purged or _aware(row.expires_at) < utcnow():
            return {"error": (410, "upload expired or terminated; create a new one")}
        return {"offset": row.offset, "length": row.length}


async def _receive_to(request: Request, part: Path, limit: int, algo) -> tuple[int, bool, bool, bytes | None]:
    """Stream the body into `part`: (bytes written, arrived whole, over `limit`, checksum digest or None).
    At most `limit` bytes are kept; reading stops as soon as the body passes it."""
    h = algo() if algo is not None else None
    size = 0
    whole, over = True, False
    with open(part, "wb") as f:
        try:
            async for piece in request.stream():
                if size + len(piece) > limit:
                    over = True
                    break
                f.write(piece)
                size += len(piece)
                if h is not None:
                    h.update(piece)
        except ClientDisconnect:
            whole = False
    return size, whole, over, (h.digest() if h is not None else None)


async def _or_disk_full(call, *args):
    """`await run_in_threadpool(call, *args)`, or the 507 response when the disk is full."""
    try:
        return await run_in_threadpool(call, *args)
    except Exception as exc:
        if is_disk_full(exc):
            return disk_full_response()
        raise


async def _receive_or_disk_full(request: Request, part: Path, limit: int, algo):
    """`_receive_to`, or the 507 response when the disk is full."""
    try:
        return await _receive_to(request, part, limit, algo)
    except OSError as exc:
        if is_disk_full(exc):
            return disk_full_response()
        raise


def _parse_checksum(header: str | None):
    """(hash constructor, expected digest) of `Upload-Checksum`, None without one, or an error response."""
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
    return fn, expected


async def _patch_body(request: Request, upload_id: str, caller: Caller, offset: int) -> Response:
    hub = request.app.state.hub
    if not _UPLOAD_ID.match(upload_id):
        return _error(404, "no such upload")
    checksum = _parse_checksum(request.headers.get("upload-checksum"))
    if isinstance(checksum, Response):
        return checksum
    state = await run_in_threadpool(_peek, hub, upload_id, caller)
    if "error" in state:
        status, message = state["error"]
        return _error(status, message)
    if state["offset"] != offset:
        return _error(409, f"Upload-Offset {offset} does not match the server's offset {state['offset']}",
                      **{"Upload-Offset": str(state["offset"])})
    remaining = state["length"] - offset
    declared = request.headers.get("content-length")
    if declared is not None and (_parse_length(declared) is None or int(declared) > remaining):
        return _error(400, f"chunk would exceed Upload-Length {state['length']} ({remaining} bytes remain)")
    part = _part_path(hub.upload_dir, upload_id)
    try:
        received = await _receive_or_disk_full(request, part, remaining, checksum[0] if checksum else None)
        if isinstance(received, Response):
            return received
        size, whole, over, digest = received
        if over:
            return _error(400, f"chunk would exceed Upload-Length {state['length']} ({remaining} bytes remain)")
        if not whole:
            if checksum or not size:
                return Response(status_code=400)  # nobody is listening; a checksummed partial chunk is discarded
            log.info("upload interrupted; keeping the bytes that arrived", extra={"upload_id": upload_id, "bytes": size})
        elif checksum and digest != checksum[1]:
            return _error(STATUS_CHECKSUM_MISMATCH, "Checksum Mismatch: the chunk was discarded; send it again")
        result = await _or_disk_full(_append, hub, upload_id, caller, offset, part, size)
        if isinstance(result, Response):
            return result
    finally:
        part.unlink(missing_ok=True)
    if "error" in result:
        status, message = result["error"]
        extra = {"Upload-Offset": str(result["offset"])} if "offset" in result else {}
        return _error(status, message, **extra)
    return Response(status_code=204, headers=_tus_headers(**{
        "Upload-Offset": str(result["offset"]), "Upload-Expires": _http_date(result["expires_at"])}))


@router.post("/files/")
async def create(request: Request, caller: Caller = Depends(uploader)) -> Response:
    hub = request.app.state.hub
    if (bad := _check_version(request)) is not None:
        return bad
    if request.headers.get("upload-defer-length"):
        return _error(400, "Upload-Defer-Length is not supported; send Upload-Length")
    length = _parse_length(request.headers.get("upload-length"))
    if length is None:
        return _error(400, "Upload-Length is required: the total size in bytes, as plain decimal digits")
    if length > hub.max_upload_bytes:
        return _error(413, f"Upload-Length {length} exceeds Tus-Max-Size {hub.max_upload_bytes}")
    try:
        metadata = parse_metadata(request.headers.get("upload-metadata"))
    except ValueError as exc:
        return _error(400, str(exc))
    with_body = request.headers.get("content-type", "").startswith(OFFSET_CONTENT_TYPE)
    declared = request.headers.get("content-length")
    if with_body and declared is not None and (_parse_length(declared) is None or int(declared) > length):
        return _error(400, f"the first chunk is larger than Upload-Length {length}")
    volume = getattr(hub, "volume", None)
    if volume is not None and not volume.has_room_for(length):
        return disk_full_response()
    upload_id = uuid.uuid4().hex
    expires = utcnow() + dt.timedelta(seconds=hub.upload_ttl_s)
    if with_body and length and declared is not None and int(declared) == length:
        return await _create_whole(request, caller, upload_id, length, metadata, expires)

    def insert() -> None:
        # The row first, then the file: a crash in between leaves a row whose file PATCH creates, never a file
        # nobody accounts for.
        with hub.sessions() as s, s.begin():
            s.add(Upload(id=upload_id, length=length, offset=0, metadata_json=metadata, owner=caller.actor,
                         expires_at=expires, sha256=hashlib.sha256(b"").hexdigest() if length == 0 else None))
            audit.record(s, caller.actor, "upload", upload_id, "created", bytes=length,
                         filename=metadata.get("filename", ""))
        upload_path(hub.upload_dir, upload_id).write_bytes(b"")

    refused = await _or_disk_full(insert)
    if isinstance(refused, Response):
        return refused
    headers = _tus_headers(Location=_location(request, upload_id), **{"Upload-Expires": _http_date(expires)})
    if with_body:
        resp = await _patch_body(request, upload_id, caller, 0)
        if resp.status_code != 204:
            await run_in_threadpool(_discard, hub, upload_id, caller, "creation body refused")
            return resp
        headers["Upload-Offset"] = resp.headers["Upload-Offset"]
    return Response(status_code=201, headers=headers)


def _location(request: Request, upload_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/files/{upload_id}"


async def _create_whole(request: Request, caller: Caller, upload_id: str, length: int, metadata: dict[str, str],
                        expires: dt.datetime) -> Response:
    """Creation whose body is the whole upload (a scanned page fits one request): the body is received first and
    the upload's row written once, complete — one write transaction, where a creation and a PATCH take two (and
    a SQLite hub lets one writer in at a time). Nothing is kept if the body is refused or cut short."""
    hub = request.app.state.hub
    checksum = _parse_checksum(request.headers.get("upload-checksum"))
    if isinstance(checksum, Response):
        return checksum
    algo = checksum[0] if checksum else hashlib.sha256
    part = _part_path(hub.upload_dir, upload_id)
    try:
        received = await _receive_or_disk_full(request, part, length, algo)
        if isinstance(received, Response):
            return received
        size, whole, over, digest = received
        if over:
            return _error(400, f"the first chunk is larger than Upload-Length {length}")
        if not whole or size != length:
            return Response(status_code=400)  # the client went away mid-body: nothing was created
        if checksum and digest != checksum[1]:
            return _error(STATUS_CHECKSUM_MISMATCH, "Checksum Mismatch: the upload was not created; send it again")
        sha256 = digest.hex() if algo is hashlib.sha256 else None

        def store() -> None:
            # The file first, then the row: a crash in between leaves a file no row names, which the relay's
            # sweep removes (kiosk.hub.storage); the row never names a file that is not whole.
            path = upload_path(hub.upload_dir, upload_id)
            with open(part, "rb") as f:
                os.fsync(f.fileno())
            os.replace(part, path)
            whole_sha256 = sha256 or _file_sha256(path)
            try:  # written with the other uploads completed at the same moment (hub.upload_intake)
                hub.upload_intake(dict(id=upload_id, length=length, offset=length, metadata_json=metadata,
                                       owner=caller.actor, expires_at=expires, sha256=whole_sha256))
            except BaseException:
                path.unlink(missing_ok=True)
                raise

        refused = await _or_disk_full(store)
        if isinstance(refused, Response):
            return refused
    finally:
        part.unlink(missing_ok=True)
    return Response(status_code=201, headers=_tus_headers(Location=_location(request, upload_id), **{
        "Upload-Expires": _http_date(expires), "Upload-Offset": str(length)}))


def write_uploads(hub, uploads: list[dict]) -> list[None]:
    """Whole uploads' rows (each given as Upload's columns) and their `created` and `completed` audit rows, in one
    transaction (GroupCommit; rows made here, so a batch written again item by item starts from new objects)."""
    with hub.sessions() as s, s.begin():
        for columns in uploads:
            up = Upload(**columns)
            s.add(up)
            audit.record(s, up.owner, "upload", up.id, "created", bytes=up.length,
                         filename=up.metadata_json.get("filename", ""))
            audit.record(s, up.owner, "upload", up.id, "completed", bytes=up.length, sha256=up.sha256)
    return [None] * len(uploads)


def _discard(hub, upload_id: str, caller: Caller, reason: str) -> None:
    """Forget an upload whose creation failed part-way: its row is marked purged and its file goes."""
    with hub.sessions() as s, s.begin():
        row = s.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
        if row is not None and not row.purged:
            row.purged = True
            audit.record(s, caller.actor, "upload", upload_id, "terminated", reason=reason)
    upload_path(hub.upload_dir, upload_id).unlink(missing_ok=True)


@router.head("/files/{upload_id}")
def head(upload_id: str, request: Request, caller: Caller = Depends(authenticated)) -> Response:
    hub = request.app.state.hub
    if (bad := _check_version(request)) is not None:
        return Response(status_code=412, headers=bad.headers)
    if not _UPLOAD_ID.match(upload_id):
        return Response(status_code=404, headers=_tus_headers(**{"Cache-Control": "no-store"}))
    with hub.sessions() as s:
        read_only(s)
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
async def patch(upload_id: str, request: Request, caller: Caller = Depends(uploader)) -> Response:
    if (bad := _check_version(request)) is not None:
        return bad
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        return _error(415, f"Content-Type must be {OFFSET_CONTENT_TYPE}")
    offset = _parse_length(request.headers.get("upload-offset"))
    if offset is None:
        return _error(400, "Upload-Offset is required, as plain decimal digits")
    return await _patch_body(request, upload_id, caller, offset)


@router.delete("/files/{upload_id}")
def terminate(upload_id: str, request: Request, caller: Caller = Depends(uploader)) -> Response:
    hub = request.app.state.hub
    if not _UPLOAD_ID.match(upload_id):
        return Response(status_code=404, headers=_tus_headers())
    with hub.sessions() as s, s.begin():
        row = s.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
        if row is None or row.owner != caller.actor or row.purged:
            return Response(status_code=404, headers=_tus_headers())
        if row.bound_to:
            return _error(409, f"upload is filed ({row.bound_to}): a case's upload goes once the platform has it,"
                               " a 代办 request's once the request is closed, a 档案's stays with the 档案")
        row.purged = True
        audit.record(s, caller.actor, "upload", upload_id, "terminated")
    upload_path(hub.upload_dir, upload_id).unlink(missing_ok=True)
    return Response(status_code=204, headers=_tus_headers())
