"""Issue 13, tus uploads: size limits before reading, strict headers, read-only roles, no leftovers."""
from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from kiosk.hub.auth import create_token
from kiosk.hub.models import Upload
from kiosk.hub.tus import upload_id_from_url, upload_path

TUS = {"Tus-Resumable": "1.0.0"}


def _create(hub, length, token=None, **headers) -> requests.Response:
    h = hub.headers(token) | TUS | {"Upload-Length": str(length)} | headers
    return requests.post(f"{hub.url}/files/", headers=h, timeout=10)


def _patch(hub, url, offset, data, **headers):
    h = hub.headers() | TUS | {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)} | headers
    return requests.patch(url, data=data, headers=h, timeout=30)


def test_a_huge_patch_to_a_small_upload_is_refused_before_it_is_read(hub, tmp_path):
    url = _create(hub, 10).headers["Location"]
    # Declared: refused on the header alone.
    r = _patch(hub, url, 0, b"\0" * 11)
    assert r.status_code == 400 and "exceed" in r.text
    # Streamed without a Content-Length: the hub answers after the first chunk past the length, while the
    # client has sent 2 MiB of a body that would have been 300 MiB (it never sends the rest).
    path = urlsplit(url).path
    with socket.create_connection((hub.server.host, hub.server.port), timeout=10) as sock:
        head = (f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hub.token}\r\nTus-Resumable: 1.0.0\r\n"
                "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")
        sock.sendall(head.encode())
        for _ in range(2):
            sock.sendall(b"100000\r\n" + b"\0" * (1 << 20) + b"\r\n")
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert requests.head(url, headers=hub.headers() | TUS, timeout=5).headers["Upload-Offset"] == "0"
    leftovers = [p for p in hub.state.upload_dir.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


@pytest.mark.parametrize("value", ["+5", "1_000", "5.0", "0x10", "-0", "5 5"])
def test_upload_length_must_be_plain_digits(hub, value):
    r = _create(hub, value)
    assert r.status_code == 400, (value, r.status_code)


def test_upload_offset_must_be_plain_digits(hub):
    url = _create(hub, 10).headers["Location"]
    assert _patch(hub, url, "+0", b"abc").status_code == 400
    assert _patch(hub, url, "0_0", b"abc").status_code == 400


def test_head_without_tus_resumable_is_412(hub):
    url = _create(hub, 10).headers["Location"]
    r = requests.head(url, headers=hub.headers(), timeout=5)
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    assert requests.head(url, headers=hub.headers() | TUS, timeout=5).status_code == 200


def test_installer_may_not_upload(hub):
    with hub.state.sessions() as s, s.begin():
        installer = create_token(s, "installer", "inst01")
    r = _create(hub, 10, token=installer)
    assert r.status_code == 403 and "read-only" in r.text
    with hub.state.sessions() as s:
        assert s.scalars(select(Upload)).all() == []


def test_oversized_creation_with_body_leaves_no_row_and_no_file(hub):
    h = {"Content-Type": "application/offset+octet-stream"}
    r = _create(hub, 4, **h) if False else requests.post(
        f"{hub.url}/files/", data=b"123456789", headers=hub.headers() | TUS | {"Upload-Length": "4"} | h, timeout=10)
    assert r.status_code == 400
    with hub.state.sessions() as s:
        assert s.scalars(select(Upload).where(Upload.purged.is_(False))).all() == []
    assert [p for p in hub.state.upload_dir.iterdir() if p.suffix in (".bin", ".part")] == []
    # A body refused for its checksum: the upload it would have created is gone too.
    h["Upload-Checksum"] = "sha1 " + base64.b64encode(b"\0" * 20).decode()
    r = requests.post(f"{hub.url}/files/", data=b"1234", headers=hub.headers() | TUS | {"Upload-Length": "4"} | h,
                      timeout=10)
    assert r.status_code == 460
    with hub.state.sessions() as s:
        assert s.scalars(select(Upload).where(Upload.purged.is_(False))).all() == []


@pytest.mark.parametrize("name", ["../../x.pdf", "/etc/passwd", "a\\b.pdf", ".."])
def test_path_like_file_names_are_refused(hub, name):
    meta = "filename " + base64.b64encode(name.encode()).decode()
    r = _create(hub, 10, **{"Upload-Metadata": meta})
    assert r.status_code == 400 and "plain file name" in r.text


def test_safe_filename_keeps_only_the_last_component():
    from kiosk.hub.tus import safe_filename

    assert safe_filename("../../x.pdf", "M01.pdf") == "x.pdf"
    assert safe_filename("/etc/passwd", "M01.pdf") == "passwd"
    assert safe_filename("..", "M01.pdf") == "M01.pdf"
    assert safe_filename("a\x00b", "M01.pdf") == "M01.pdf"


def test_a_chunk_is_written_whole_and_resumable(hub):
    r = _create(hub, 8)
    url = r.headers["Location"]
    assert _patch(hub, url, 0, b"abcd").status_code == 204
    assert _patch(hub, url, 4, b"efgh").status_code == 204
    up = upload_id_from_url(url)
    assert upload_path(hub.state.upload_dir, up).read_bytes() == b"abcdefgh"
    assert os.listdir(hub.state.upload_dir).count(f"{up}.bin") == 1


def test_concurrent_patches_of_one_upload_do_not_interleave(hub):
    import concurrent.futures

    url = _create(hub, 2_000_000).headers["Location"]
    first, second = os.urandom(1_000_000), os.urandom(1_000_000)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _i: _patch(hub, url, 0, first).status_code, range(4)))
    assert sorted(codes) == [204, 409, 409, 409]
    assert _patch(hub, url, 1_000_000, second).status_code == 204
    up = upload_id_from_url(url)
    assert upload_path(hub.state.upload_dir, up).read_bytes() == first + second
    with hub.state.sessions() as s:
        row = s.get(Upload, up)
        assert row.offset == 2_000_000 and row.sha256 is not None
