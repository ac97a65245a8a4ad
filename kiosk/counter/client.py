"""The counter's calls to the hub: sign-in with the device token, everything else with the clerk's token.

An unreachable hub (no answer, 5xx) raises `kiosk.errors.Unavailable`: the caller queues the action in the
local `ActionQueue`. A refusal (4xx) raises `CounterRefused` with the hub's `code` (wrong_pin, locked,
not_staff, not_entitled, mandate_expired, already_handed_out, held_by_other, …), its message and, for a
PIN lockout, `retry_after_s`. Nothing here logs personal data.
"""
from __future__ import annotations

import uuid

import requests

from kiosk.errors import KioskError, Unavailable


class CounterRefused(KioskError):
    def __init__(self, code: str, message: str, status: int, detail: dict | None = None) -> None:
        super().__init__(message, "")
        self.code = code
        self.status = status
        self.detail = detail or {}

    @property
    def retry_after_s(self) -> int:
        return int(self.detail.get("retry_after_s") or 0)


def _refusal(resp: requests.Response) -> CounterRefused:
    try:
        doc = resp.json()
    except ValueError:
        doc = {"detail": resp.text[:200]}
    detail = doc.get("detail") if isinstance(doc, dict) else doc
    if isinstance(detail, dict):
        return CounterRefused(str(detail.get("code") or f"http_{resp.status_code}"), str(detail.get("message") or ""),
                              resp.status_code, detail)
    if isinstance(detail, list):  # FastAPI validation errors
        text = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
        return CounterRefused("invalid", text, resp.status_code, {})
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(resp.status_code,
                                                                                          f"http_{resp.status_code}")
    return CounterRefused(code, str(detail), resp.status_code, {})


class CounterClient:
    def __init__(self, url: str, token: str, timeout: float = 5.0, verify_tls: bool = True) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.session.headers["Authorization"] = f"Bearer {token}"

    def with_token(self, token: str) -> "CounterClient":
        return CounterClient(self.url, token, self.timeout, self.session.verify)

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, json=None, params=None, key: str | None = None) -> dict | list:
        headers = {"Idempotency-Key": key} if key else None
        try:
            resp = self.session.request(method, self.url + path, json=json, params=params, headers=headers,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(f"the hub at {self.url} is unreachable ({type(exc).__name__})",
                              "the action waits in the counter's queue and is sent when the hub is back") from None
        if resp.status_code >= 500:
            raise Unavailable(f"the hub answered HTTP {resp.status_code}", "the action waits in the counter's queue")
        if resp.status_code >= 400:
            raise _refusal(resp)
        return resp.json() if resp.content else {}

    # -- the clerk ---------------------------------------------------------------------------
    def sign_in(self, id_number: str, pin: str) -> dict:
        """With the device token: the clerk's card number and PIN give a short-lived clerk token."""
        return self.call("POST", "/api/v1/counter/sign-in", json={"id_number": id_number, "pin": pin})

    def sign_out(self) -> dict:
        return self.call("POST", "/api/v1/counter/sign-out")

    def me(self) -> dict:
        return self.call("GET", "/api/v1/counter/me")

    # -- 代收 and 代发 --------------------------------------------------------------------------
    def lookup(self, *, receipt_no: str = "", pickup_code: str = "", id_number: str = "") -> list[dict]:
        body = {k: v for k, v in (("receipt_no", receipt_no), ("pickup_code", pickup_code), ("id_number", id_number)) if v}
        return list(self.call("POST", "/api/v1/counter/lookup", json=body)["results"])

    def handout(self, body: dict, key: str | None = None) -> dict:
        return self.call("POST", "/api/v1/counter/handouts", json=body, key=key or str(uuid.uuid4()))

    def collection(self, body: dict, key: str | None = None) -> dict:
        return self.call("POST", "/api/v1/counter/collections", json=body, key=key or str(uuid.uuid4()))
