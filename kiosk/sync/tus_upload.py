"""tuspy's uploader with sha256 chunk checksums and timeouts, for `HubClient.upload`.

A module of its own because tuspy imports aiohttp (about 0.6 s): `kiosk.sync.client` imports it only when a file
is uploaded, so nothing that merely talks to the hub (the app's start on the UI thread, every `kiosk` command)
pays for it. tuspy uses aiohttp only in its asynchronous uploader, which the kiosk does not use: aiohttp is
imported on first use (`_ImportedOnUse`), so it is loaded only if something uses it — not in the kiosk, where it
held 11 MB of resident memory for the app's life after its first upload.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import sys
import types
from urllib.parse import urljoin

import requests


class _ImportedOnUse(types.ModuleType):
    """Stands in `sys.modules` for a module until one of its attributes is used; that use imports the module.

    The standard library's `importlib.util.LazyLoader` does not serve here: on Python 3.11 the `import` statement
    itself reads the module's `__spec__`, which loads it."""

    def __getattr__(self, attr: str):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _import_on_use(name: str) -> None:
    """Leave `name` unimported until something uses it; nothing changes if it is already imported."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = _ImportedOnUse(name)


_import_on_use("aiohttp")  # tuspy's `import aiohttp` at the top of its modules, for its async uploader only

from tusclient.client import TusClient  # noqa: E402
from tusclient.exceptions import TusCommunicationError  # noqa: E402
from tusclient.request import TusRequest  # noqa: E402
from tusclient.uploader import Uploader  # noqa: E402

__all__ = ["TusClient", "TusCommunicationError", "_Uploader"]


class _TimedRequest(TusRequest):
    """tuspy's PATCH, sent through the uploader's session with a timeout (tuspy itself sets none)."""

    def perform(self):
        up = self._uploader
        chunk = self.file.read(self._content_length)
        self.add_checksum(chunk)
        try:
            resp = up.session.patch(self._url, data=chunk, headers=self._request_headers, timeout=up.timeout)
        except requests.RequestException as exc:
            raise TusCommunicationError(exc) from None
        self.status_code = resp.status_code
        self.response_content = resp.content
        self.response_headers = {k.lower(): v for k, v in resp.headers.items()}

    def __init__(self, uploader):
        self._uploader = uploader
        super().__init__(uploader)


class _Uploader(Uploader):
    """tuspy's uploader with sha256 chunk checksums (tus checksum extension) and timeouts."""

    def __init__(self, *args, session: requests.Session, timeout: float, on_created=None, **kwargs):
        self.session = session
        self.timeout = timeout
        self.on_created = on_created
        self._created_offset = 0  # what the hub took of a body sent with the creation (create_url)
        super().__init__(*args, **kwargs)

    @property
    def checksum_algorithm(self):
        return hashlib.sha256

    @property
    def checksum_algorithm_name(self):
        return "sha256"

    def upload(self, stop_at=None):
        """A new upload that fits one chunk is sent with its creation (tus creation-with-upload): one request, and
        on the hub one write, instead of a creation and a PATCH. The rest is tuspy's loop, which also finishes
        anything the hub did not take."""
        size = stop_at or self.get_file_size()
        if not self.url and 0 < size <= self.chunk_size:
            stream = self.get_file_stream()
            body = stream.read(size)
            self.set_url(self.create_url(body))
            self.offset = self._created_offset
        super().upload(stop_at)

    def create_url(self, body: bytes | None = None):
        headers = self.get_url_creation_headers()
        if body is not None:
            headers["content-type"] = "application/offset+octet-stream"
            digest = base64.b64encode(self.checksum_algorithm(body).digest()).decode()
            headers["upload-checksum"] = f"{self.checksum_algorithm_name} {digest}"  # as tuspy's PATCHes carry it
        try:
            resp = self.session.post(self.client.url, headers=headers, data=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TusCommunicationError(exc) from None
        if body is not None and resp.status_code != 201:
            raise TusCommunicationError(f"upload creation failed with status {resp.status_code}", resp.status_code,
                                        resp.content)
        offset = resp.headers.get("upload-offset")
        self._created_offset = int(offset) if offset and offset.isdigit() else 0
        url = resp.headers.get("location")
        if url is None:
            raise TusCommunicationError(f"upload creation failed with status {resp.status_code}", resp.status_code,
                                        resp.content)
        url = urljoin(self.client.url, url)
        if self.on_created is not None:
            self.on_created(url)  # the caller records it now, so an interrupted upload can be resumed later
        return url

    def get_offset(self):
        try:
            resp = self.session.head(self.url, headers=self.get_headers(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise TusCommunicationError(exc) from None
        offset = resp.headers.get("upload-offset")
        if offset is None:
            raise TusCommunicationError(f"offset lookup failed with status {resp.status_code}", resp.status_code,
                                        resp.content)
        return int(offset)

    def _do_request(self):
        self.request = _TimedRequest(self)
        self.request.perform()
        if not 200 <= (self.request.status_code or 0) < 300:
            raise TusCommunicationError(f"chunk upload failed with status {self.request.status_code}",
                                        self.request.status_code, self.request.response_content)
