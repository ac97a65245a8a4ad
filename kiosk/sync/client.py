"""HubClient: what the kiosk and counter call to reach the hub (requests for REST, tuspy for tus uploads).

An unreachable hub raises `kiosk.errors.Unavailable`; a hub that answers but refuses raises `HubRejected`
(retrying the same request will not help). Nothing here logs personal data.
"""
from __future__ import annotations

import hashlib
import os
from typing import IO

import requests

from kiosk.errors import KioskError, Unavailable
from kiosk.http_session import session_for

CHUNK_SIZE = 1024 * 1024
MAX_RECEIPT_BYTES = 64 * 1024  # the hub's cap on a receipt copy (docs/hub-api.md, kiosk.hub.receipts)


class HubRejected(KioskError):
    """The hub answered with a 4xx: the request itself is wrong (bad token, bad data, unknown receipt)."""

    def __init__(self, message: str, action: str = "", status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message, action)
        self.status = status
        self.reason = reason  # the hub's code for why (`in_person_required`, `outside_outlet_scope`…), when it gave one


class UploadGone(HubRejected):
    """A resumed upload expired or was deleted on the hub: start it again."""


class HubServerError(Unavailable):
    """The hub answered, but with a 5xx: either the hub is in trouble (then every request fails) or this one
    request trips it (a poisoned entry). The outbox tells the two apart by whether anything else gets through."""

    def __init__(self, message: str, action: str = "", status: int | None = None) -> None:
        super().__init__(message, action)
        self.status = status


class HubBusy(HubServerError):
    """The hub is still working on an earlier try of the same request (409 with Retry-After: an outbox's retry
    overlapped its first try): not a refusal; the outbox sends it again."""


def _answer(resp: requests.Response) -> tuple[str, str | None]:
    """The hub's answer in words and the refusal's code (`{"detail": ..., "reason": ...}`) when it gave one."""
    try:
        doc = resp.json()
    except ValueError:
        return resp.text[:200], None
    detail = doc.get("detail") if isinstance(doc, dict) else doc
    reason = doc.get("reason") if isinstance(doc, dict) else None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail), reason if isinstance(reason, str) else None


class HubClient:
    def __init__(self, url: str, token: str, timeout: float = 5.0, verify_tls: bool = True) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session_for(self.url, verify_tls)
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_config(cls, cfg) -> "HubClient":
        return cls(cfg.hub.url, cfg.hub.token, cfg.hub.timeout_s, cfg.hub.verify_tls)

    def close(self) -> None:
        self.session.close()

    def _unavailable(self, what: str) -> Unavailable:
        return Unavailable(f"the hub at {self.url} is unreachable ({what})",
                           "check the network cable or Wi-Fi and that the hub is running; the kiosk keeps cases"
                           " in its outbox and sends them when the hub is back")

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            resp = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise self._unavailable(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise self._unavailable(type(exc).__name__) from None
        if resp.status_code >= 500:
            plain = self._unavailable(f"HTTP {resp.status_code}: {_answer(resp)[0]}")
            raise HubServerError(plain.message, plain.action, resp.status_code)
        if resp.status_code == 409 and resp.headers.get("Retry-After"):
            raise HubBusy(f"the hub is still working on an earlier try of {method} {path}",
                          "nothing to do: the kiosk sends it again shortly", 409)
        if resp.status_code == 401:
            raise HubRejected("the hub refused the device token", "set hub.token in the config to a token from"
                              " `kiosk hub token create --role kiosk`", 401)
        if resp.status_code >= 400:
            detail, reason = _answer(resp)
            raise HubRejected(f"the hub refused {method} {path}: HTTP {resp.status_code}: {detail}",
                              "check the data sent; retrying the same request will not help", resp.status_code, reason)
        return resp

    def health(self) -> bool:
        try:
            resp = self.session.get(self.url + "/healthz", timeout=self.timeout)
            return resp.status_code == 200 and bool(resp.json().get("ok"))
        except (requests.RequestException, ValueError):
            return False

    def catalog(self) -> list[dict]:
        return list(self._call("GET", "/api/v1/catalog").json())

    def upload_material(self, path: str, metadata: dict, *, resume_url: str | None = None,
                        chunk_size: int = CHUNK_SIZE, file_stream: IO[bytes] | None = None,
                        on_created=None) -> str:
        """Upload one file with tus and return its upload URL. With `resume_url`, continue that upload from
        the hub's offset; if it expired, `UploadGone` is raised and the caller starts afresh. `on_created(url)`
        is called as soon as the hub has assigned the URL, before any bytes are sent."""
        meta = {str(k): str(v) for k, v in metadata.items()}
        meta.setdefault("filename", os.path.basename(path) if path else "material")
        stream = file_stream
        if stream is None:
            try:
                stream = open(path, "rb")
            except OSError as exc:
                raise KioskError(f"cannot read {path}: {exc.strerror}", "scan the page again") from None
        from kiosk.sync.tus_upload import TusClient, TusCommunicationError, _Uploader  # tuspy loads aiohttp: only here

        try:
            client = TusClient(self.url + "/files/", headers={"Authorization": f"Bearer {self.token}"})
            try:
                uploader = _Uploader(file_stream=stream, url=resume_url, client=client, chunk_size=chunk_size,
                                     metadata=meta, upload_checksum=True, session=self.session, timeout=self.timeout,
                                     on_created=on_created)
                uploader.upload()
            except TusCommunicationError as exc:
                raise self._tus_error(exc, resume_url) from None
            return uploader.url
        finally:
            if file_stream is None:
                stream.close()

    def _tus_error(self, exc, resume_url: str | None) -> KioskError:
        status = exc.status_code
        if status is None or status >= 500:
            return self._unavailable(f"upload: {exc}")
        if status == 401:
            return HubRejected("the hub refused the device token", "set hub.token in the config", 401)
        if status in (404, 410) and resume_url:
            return UploadGone(f"the upload at {resume_url} is gone (expired or deleted)", "upload the file again", status)
        body = (exc.response_content or b"")[:200].decode("utf-8", "replace")
        return HubRejected(f"the hub refused the upload: HTTP {status} {body}", "scan the page again", status)

    def submit_case(self, payload: dict, idempotency_key: str) -> dict:
        try:
            return self._call("POST", "/api/v1/cases", json=payload,
                              headers={"Idempotency-Key": idempotency_key}).json()
        except HubRejected as exc:
            if exc.status == 410:  # an upload of this case expired or cannot be read back on the hub
                raise UploadGone(exc.message, "upload the files again", 410) from None
            raise

    def case_status(self, receipt_no: str) -> dict:
        return self._call("GET", f"/api/v1/cases/{receipt_no}").json()

    def put_receipt(self, receipt_no: str, escpos: bytes) -> dict:
        """Store the receipt's ESC/POS bytes with its case on the hub (the case must have arrived first).
        Returns `{"receipt_no", "outcome": "stored"|"unchanged"|"replaced", "bytes", "sha256", "stored_by",
        "created_at"}`."""
        return self._call("PUT", f"/api/v1/cases/{receipt_no}/receipt", data=bytes(escpos),
                          headers={"Content-Type": "application/octet-stream"}).json()

    def get_receipt(self, receipt_no: str) -> bytes:
        """The ESC/POS bytes of a case's receipt, for a reprint (clerk or supervisor tokens only: else 403)."""
        resp = self._call("GET", f"/api/v1/cases/{receipt_no}/receipt")
        expected = resp.headers.get("X-Receipt-Sha256")
        if expected and hashlib.sha256(resp.content).hexdigest() != expected:
            raise self._unavailable("the receipt copy arrived damaged (SHA-256 mismatch)")
        return resp.content
