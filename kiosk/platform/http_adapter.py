"""The reference HTTP adapter: the 5-step flow of docs/platform-protocol.md over signed requests.

get 办件编号 → declare materials → multipart upload per material → choose delivery → submit. Each step is
idempotent on the platform side (keyed by our receipt number and the material code), so a relay that fails
part-way simply runs `submit` again.
"""
from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import urllib3

from kiosk.http_session import pool_for
from kiosk.platform import signing
from kiosk.platform.adapter import (CaseSubmission, MaterialFile, PlatformAdapter, PlatformRejected,
                                    PlatformUnavailable, SubmitResult)

log = logging.getLogger("kiosk.platform.http")


# The card reader names card types; the reference protocol carries GA/T 2000.156 certificate codes
# (111 居民身份证, as in the Wanda/zfsoft integration). Other card types pass through unchanged until a
# province's specification says which code it expects for them.
CARD_TYPE_CODES = {"resident": "111"}


def card_type_code(card_type: str) -> str:
    return CARD_TYPE_CODES.get(card_type, card_type or "111")


class _Caseless(dict):
    """Header lookup that ignores case, as HTTP does."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})

    def get(self, key, default=None):
        return super().get(key.lower(), default)


class ReferenceHttpAdapter(PlatformAdapter):
    def __init__(self, base_url: str, app_id: str, secret: str, algorithm: str = "hmac-sha256",
                 timeout: float = 10.0, verify_tls: bool = True) -> None:
        if algorithm not in signing.ALGORITHMS:
            raise ValueError(f"signing must be one of {signing.ALGORITHMS}, got {algorithm!r}")
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.secret = secret
        self.algorithm = algorithm
        self.timeout = timeout
        self.http = pool_for(self.base_url, verify_tls)

    @classmethod
    def from_config(cls, platform_section) -> "ReferenceHttpAdapter":
        return cls(platform_section.url, platform_section.app_id, platform_section.secret,
                   platform_section.signing, platform_section.timeout_s)

    def close(self) -> None:
        self.http.clear()

    # -- transport -------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, json_body: Any = None,
                 files: dict | list | None = None, data: dict | None = None) -> Any:
        """One signed call; `files` (with `data` as ordinary fields) goes as multipart/form-data, else `json_body`
        as JSON. The signature covers the exact bytes sent."""
        headers = {"Accept": "application/json"}
        if files is not None:
            fields = list((data or {}).items()) + list(files.items() if isinstance(files, dict) else files)
            body, headers["Content-Type"] = urllib3.encode_multipart_formdata(fields)
        elif json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        else:
            body = b""
        parts = urlsplit(self.base_url + path)
        headers.update(signing.sign_headers(method, parts.path, parts.query, body, self.app_id, self.secret,
                                            self.algorithm))
        try:
            resp = self.http.request(method, self.base_url + path, body=body or None, headers=headers,
                                     timeout=self.timeout, retries=False, redirect=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise PlatformUnavailable(f"platform unreachable at {self.base_url}: {type(exc).__name__}") from None
        status = resp.status
        if status >= 500 or status == 429:
            raise PlatformUnavailable(f"platform answered {status} on {method} {path}", status)
        if 300 <= status < 400:
            # The protocol has no redirects: an http:// URL for an https:// platform, or a moved base path.
            raise PlatformUnavailable(f"platform redirected {method} {path} to {resp.headers.get('Location')};"
                                      " check platform.url", status)
        try:
            doc = json.loads(resp.data)
        except ValueError:
            doc = {"message": resp.data[:200].decode("utf-8", "replace")}
        msg = doc.get("message") if isinstance(doc, dict) else str(doc)
        if status == 401:
            # Wrong secret or a skewed clock: fixable by configuration, so the case waits instead of failing.
            raise PlatformUnavailable(f"platform refused our signature on {method} {path}: {msg}; check"
                                      " platform.app_id, platform.secret and the system clock", 401)
        if status >= 400:
            raise PlatformRejected(f"platform refused {method} {path}: {status} {msg}", status)
        return doc

    # -- interface -------------------------------------------------------------------------
    def fetch_catalog(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/api/v1/catalog")["items"])

    def submit(self, case: CaseSubmission) -> SubmitResult:
        a = case.applicant
        confirmed = self._request("POST", "/api/v1/applications", json_body={
            "client_ref": case.client_ref, "item_code": case.item_code, "channel": case.channel,
            "applicant": {"name": a.name, "id_number": a.id_number, "card_type": card_type_code(a.card_type),
                          "phone": a.phone, "address": a.address},
        })
        case_no = confirmed["case_no"]
        if confirmed.get("status") not in (None, "draft"):
            # Already submitted by an earlier relay attempt whose answer we lost: ask for its state.
            st = self.query_status(case_no)
            return SubmitResult(case_no, st["status"], st.get("promised_by"))
        if case.materials:
            stuff_ids = self._declare(case_no, case.materials)
            for m in case.materials:
                self._attach(case_no, stuff_ids[m.code], m)
        self._request("PUT", f"/api/v1/applications/{case_no}/delivery",
                      json_body={"delivery": case.delivery, "address": self._delivery_address(case)})
        done = self._request("POST", f"/api/v1/applications/{case_no}/submit",
                             json_body={"form": case.form, "submitted_at": case.submitted_at})
        return SubmitResult(done["case_no"], done["status"], done.get("promised_by"))

    @staticmethod
    def _delivery_address(case: CaseSubmission) -> str | None:
        # Only a posted result needs an address: send no more personal data than the step needs.
        if case.delivery != "邮寄":
            return None
        form = case.form
        return str(form.get("delivery_address") or form.get("mailing_address") or case.applicant.address or "") or None

    def _declare(self, case_no: str, materials: list[MaterialFile]) -> dict[str, str]:
        doc = self._request("PUT", f"/api/v1/applications/{case_no}/materials", json_body={"materials": [
            {"code": m.code, "name": m.name, "pages": m.pages, "sha256": m.sha256, "bytes": len(m.content)}
            for m in materials]})
        return {x["code"]: x["stuff_id"] for x in doc["materials"]}

    def _attach(self, case_no: str, stuff_id: str, m: MaterialFile) -> dict[str, Any]:
        return self._request("POST", f"/api/v1/applications/{case_no}/materials/{stuff_id}/attachment",
                             files={"file": (m.filename, m.content, m.content_type)}, data={"sha256": m.sha256})

    def upload_material(self, case_no: str, material: MaterialFile) -> dict[str, Any]:
        # Declaring is idempotent per material code: re-declaring returns the stuff id already assigned.
        stuff_id = self._declare(case_no, [material])[material.code]
        return self._attach(case_no, stuff_id, material)

    def send_supplement(self, case_no: str, supplement_ref: str, materials: list[MaterialFile]) -> dict[str, Any]:
        manifest = [{"code": m.code, "name": m.name, "pages": m.pages, "sha256": m.sha256, "bytes": len(m.content)}
                    for m in materials]
        return self._request("POST", f"/api/v1/applications/{case_no}/supplements",
                             data={"supplement_ref": supplement_ref,
                                   "manifest": json.dumps(manifest, ensure_ascii=False)},
                             files=[("file", (m.filename, m.content, m.content_type)) for m in materials])

    def query_status(self, case_no: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/applications/{case_no}")

    def receive_callback(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        path = headers.get("x-callback-path") or "/callbacks/platform"
        try:
            signing.verify("POST", path, "", body, _Caseless(headers), {self.app_id: self.secret})
        except signing.SignatureRejected as exc:
            raise PlatformRejected(f"callback rejected: {exc}", 401) from None
        try:
            doc = json.loads(body)
        except ValueError:
            raise PlatformRejected("callback body is not JSON", 400) from None
        if not isinstance(doc, dict) or "case_no" not in doc or "status" not in doc:
            raise PlatformRejected("callback needs case_no and status", 400)
        return doc

    def upload_evaluation(self, case_no: str, evaluation: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/v1/evaluations", json_body={"case_no": case_no, **evaluation})
