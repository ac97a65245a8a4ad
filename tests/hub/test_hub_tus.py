"""tus 1.0 uploads on the hub: creation, offsets, resume after an interrupted PATCH, checksums, expiry."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update

from hub_support import wait_for
from kiosk.hub.models import AuditEvent, Upload
from kiosk.hub.tus import upload_id_from_url, upload_path

TUS = {"Tus-Resumable": "1.0.0"}


def _create(hub, length: int, **headers) -> str:
    r = requests.post(f"{hub.url}/files/", headers=hub.headers() | TUS | {"Upload-Length": str(length)} | headers,
                      timeout=5)
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0" and "Upload-Expires" in r.headers
    return r.headers["Location"]


def _offset(hub, url: str) -> int:
    r = requests.head(url, headers=hub.headers() | TUS, timeout=5)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    return int(r.headers["Upload-Offset"])


def _patch(hub, url: str, offset: int, chunk: bytes, **headers) -> requests.Response:
    return requests.patch(url, data=chunk, timeout=5, headers=hub.headers() | TUS | {
        "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"} | headers)


def _interrupted_patch(hub, url: str, offset: int, declared: int, sent: bytes) -> None:
    """Send a PATCH that promises `declared` bytes but delivers only `sent`, then drop the connection."""
    parts = urlsplit(url)
    head = (f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {hub.token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        s.sendall(head + sent)
        s.shutdown(socket.SHUT_WR)


def test_options_advertises_version_extensions_and_checksums(hub):
    r = requests.options(f"{hub.url}/files/", timeout=5)
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert {"creation", "expiration", "checksum", "termination"} <= set(r.headers["Tus-Extension"].split(","))
    assert "sha256" in r.headers["Tus-Checksum-Algorithm"].split(",")


def test_resume_after_an_interrupted_upload(hub):
    content = os.urandom(200_000)
    url = _create(hub, len(content), **{"Upload-Metadata": "filename " + base64.b64encode("身份证.pdf".encode()).decode()})
    assert _offset(hub, url) == 0
    _interrupted_patch(hub, url, 0, len(content), content[:70_000])
    kept = wait_for(lambda: _offset(hub, url))  # the bytes that arrived are kept
    assert 0 < kept <= 70_000
    # Resume with the kiosk's own client (tuspy): it asks for the offset and sends the rest.
    path = hub.state.upload_dir.parent / "material.pdf"
    path.write_bytes(content)
    resumed = hub.client().upload_material(str(path), {}, resume_url=url, chunk_size=64 * 1024)
    assert resumed == url and _offset(hub, url) == len(content)
    upload_id = upload_id_from_url(url)
    assert upload_path(hub.state.upload_dir, upload_id).read_bytes() == content
    with hub.state.sessions() as s:
        row = s.get(Upload, upload_id)
        assert row.sha256 == hashlib.sha256(content).hexdigest() and row.metadata_json["filename"] == "身份证.pdf"


def test_tuspy_upload_in_chunks_with_sha256_checksums(hub, tmp_path):
    content = os.urandom(300_000)
    path = tmp_path / "scan.jpg"
    path.write_bytes(content)
    url = hub.client().upload_material(str(path), {"filetype": "image/jpeg"}, chunk_size=50_000)
    assert _offset(hub, url) == len(content)
    with hub.state.sessions() as s:
        assert s.get(Upload, upload_id_from_url(url)).sha256 == hashlib.sha256(content).hexdigest()


def test_a_page_that_fits_one_chunk_is_sent_with_its_creation(hub, tmp_path):
    content = os.urandom(120_000)
    path = tmp_path / "page.jpg"
    path.write_bytes(content)
    client = hub.client()
    sent = []
    client.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request.method))
    url = client.upload_material(str(path), {"filetype": "image/jpeg"})
    assert sent == ["POST"]  # creation-with-upload: no PATCH, no HEAD
    assert _offset(hub, url) == len(content)
    assert requests.head(url, headers=hub.headers(hub.clerk_token) | TUS, timeout=5).status_code == 404  # not theirs
    upload_id = upload_id_from_url(url)
    assert upload_path(hub.state.upload_dir, upload_id).read_bytes() == content
    with hub.state.sessions() as s:
        assert s.get(Upload, upload_id).sha256 == hashlib.sha256(content).hexdigest()
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == upload_id)).all()
    assert sorted(events) == ["completed", "created"]
    assert [p for p in hub.state.upload_dir.iterdir() if p.suffix == ".part"] == []


def test_a_whole_upload_in_the_creation_body_is_checked_before_anything_is_kept(hub):
    body = b"a scanned page"
    h = hub.headers() | TUS | {"Upload-Length": str(len(body)), "Content-Type": "application/offset+octet-stream"}
    bad = base64.b64encode(hashlib.sha256(b"another page").digest()).decode()
    r = requests.post(f"{hub.url}/files/", data=body, headers=h | {"Upload-Checksum": f"sha256 {bad}"}, timeout=5)
    assert r.status_code == 460 and "Location" not in r.headers
    good = base64.b64encode(hashlib.sha1(body).digest()).decode()
    r = requests.post(f"{hub.url}/files/", data=body, headers=h | {"Upload-Checksum": f"sha1 {good}"}, timeout=5)
    assert r.status_code == 201 and r.headers["Upload-Offset"] == str(len(body))
    with hub.state.sessions() as s:
        rows = s.scalars(select(Upload)).all()
    assert len(rows) == 1 and rows[0].sha256 == hashlib.sha256(body).hexdigest()
    assert sorted(p.name for p in hub.state.upload_dir.iterdir() if p.suffix in (".bin", ".part")) == \
        [upload_path(hub.state.upload_dir, rows[0].id).name]


def test_a_creation_whose_whole_body_is_cut_off_creates_nothing(hub):
    parts = urlsplit(hub.url)
    head = (f"POST /files/ HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {hub.token}\r\n"
            "Tus-Resumable: 1.0.0\r\nUpload-Length: 100000\r\nContent-Type: application/offset+octet-stream\r\n"
            "Content-Length: 100000\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        s.sendall(head + b"x" * 40_000)
        s.shutdown(socket.SHUT_WR)
    # The hub handles the cut body on its own time: watch for two seconds that nothing appears.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        with hub.state.sessions() as s:
            assert s.scalars(select(Upload)).all() == []
        assert not [p for p in hub.state.upload_dir.iterdir() if p.suffix == ".bin"]
        time.sleep(0.1)
    wait_for(lambda: not [p for p in hub.state.upload_dir.iterdir() if p.suffix == ".part"])


def test_protocol_errors(hub):
    url = _create(hub, 10)
    assert _patch(hub, url, 5, b"12345").status_code == 409  # wrong offset
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = _patch(hub, url, 0, b"12345", **{"Upload-Checksum": f"sha256 {bad}"})
    assert r.status_code == 460 and _offset(hub, url) == 0  # chunk discarded
    good = base64.b64encode(hashlib.sha1(b"12345").digest()).decode()
    assert _patch(hub, url, 0, b"12345", **{"Upload-Checksum": f"sha1 {good}"}).status_code == 204
    assert _patch(hub, url, 5, b"123", **{"Upload-Checksum": "md5 AAAA"}).status_code == 400
    assert _patch(hub, url, 5, b"123456789").status_code == 400  # past Upload-Length
    assert _patch(hub, url, 5, b"123", **{"Content-Type": "text/plain"}).status_code == 415
    assert _patch(hub, url, 5, b"123", **{"Tus-Resumable": "0.2.2"}).status_code == 412
    r = requests.post(f"{hub.url}/files/", headers=hub.headers() | TUS, timeout=5)
    assert r.status_code == 400  # no Upload-Length
    r = requests.post(f"{hub.url}/files/", headers=hub.headers() | TUS | {"Upload-Length": str(10**12)}, timeout=5)
    assert r.status_code == 413
    r = requests.post(f"{hub.url}/files/", timeout=5, headers=hub.headers() | TUS | {
        "Upload-Length": "3", "Upload-Metadata": "filename not-base64!"})
    assert r.status_code == 400
    # Another caller cannot see this upload.
    assert requests.head(url, headers=hub.headers(hub.clerk_token) | TUS, timeout=5).status_code == 404


def test_creation_with_upload_and_termination(hub):
    r = requests.post(f"{hub.url}/files/", data=b"abcdef", timeout=5, headers=hub.headers() | TUS | {
        "Upload-Length": "6", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "6"
    url = r.headers["Location"]
    assert requests.delete(url, headers=hub.headers() | TUS, timeout=5).status_code == 204
    assert requests.head(url, headers=hub.headers() | TUS, timeout=5).status_code == 410
    assert not upload_path(hub.state.upload_dir, upload_id_from_url(url)).exists()


def test_expired_upload_is_gone_and_purged(hub):
    url = _create(hub, 4)
    upload_id = upload_id_from_url(url)
    with hub.state.sessions() as s, s.begin():
        s.execute(update(Upload).where(Upload.id == upload_id)
                  .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    assert requests.head(url, headers=hub.headers() | TUS, timeout=5).status_code == 410
    assert _patch(hub, url, 0, b"abcd").status_code == 410
    assert hub.state.relay.purge_expired_uploads() == 1
    assert not upload_path(hub.state.upload_dir, upload_id).exists()
