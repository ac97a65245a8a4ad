"""The counter's calls to the hub: sign-in with the device token, everything else with the clerk's token.

An unreachable hub (no answer, 5xx) raises `kiosk.errors.Unavailable`: the caller queues the action in the
local `ActionQueue`. A refusal (4xx) raises `CounterRefused` with the hub's `code` (wrong_pin, locked,
not_staff, not_entitled, mandate_expired, already_handed_out, held_by_other, …), its message and, for a
PIN lockout, `retry_after_s`. Nothing here logs personal data.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from typing import Callable, Iterator

import requests

from kiosk.errors import KioskError, Unavailable
from kiosk.http_session import session_for


log = logging.getLogger("kiosk.counter.client")

FEED_PATH = "/api/v1/proxy-requests/feed"
FEED_READ_TIMEOUT_S = 35.0  # the hub sends a keepalive every 15 s: two missed means the feed is gone
FEED_BACKOFF_S = (0.5, 30.0)  # first and longest wait before reconnecting


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
    if isinstance(doc, dict) and doc.get("code"):  # the 代办 API: {"detail": words, "code", "status", "level", …}
        return CounterRefused(str(doc["code"]), str(detail), resp.status_code, doc)
    return CounterRefused(code, str(detail), resp.status_code, {})


class CounterClient:
    def __init__(self, url: str, token: str, timeout: float = 5.0, verify_tls: bool = True) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session_for(self.url, verify_tls)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def with_token(self, token: str) -> "CounterClient":
        return CounterClient(self.url, token, self.timeout, self.session.verify)

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, json=None, params=None, key: str | None = None) -> dict | list:
        resp = self._answer(method, path, json=json, params=params, key=key)
        return resp.json() if resp.content else {}

    def download(self, path: str) -> bytes:
        """A file the hub serves (a 代办 request's scanned material), whole."""
        return self._answer("GET", path).content

    def _answer(self, method: str, path: str, *, json=None, params=None, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else None
        try:
            resp = self.session.request(method, self.url + path, json=json, params=params, headers=headers,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(f"the hub at {self.url} is unreachable ({type(exc).__name__})",
                              "the action waits in the counter's queue and is sent when the hub is back") from None
        if resp.status_code >= 500:
            raise Unavailable(f"the hub answered HTTP {resp.status_code}", "the action waits in the counter's queue")
        if resp.status_code == 409 and resp.headers.get("Retry-After"):  # an earlier try of it still at work
            raise Unavailable("the hub is still working on an earlier try of this action",
                              "the action waits in the counter's queue and is sent again")
        if resp.status_code >= 400:
            raise _refusal(resp)
        return resp

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

    # -- the live 代办 feed ------------------------------------------------------------------------
    def feed_events(self, opened: Callable[[requests.Response], None] | None = None) -> Iterator[dict]:
        """The hub's server-sent events of 代办 requests (docs/proxy-api.md): yields {"event": "ready"|"proxy",
        "data": {...}} until the stream ends. Raises Unavailable when the hub cannot be reached and
        CounterRefused when it refuses the clerk's token. `opened` gets the response (to close it from
        another thread)."""
        try:
            resp = self.session.get(self.url + FEED_PATH, headers={"Accept": "text/event-stream"}, stream=True,
                                    timeout=(self.timeout, FEED_READ_TIMEOUT_S))
        except requests.RequestException as exc:
            raise Unavailable(f"the hub's live feed at {self.url} is unreachable ({type(exc).__name__})",
                              "the queue is refreshed by polling until it is back") from None
        with resp:
            if resp.status_code >= 500:
                raise Unavailable(f"the hub's live feed answered HTTP {resp.status_code}", "polling instead")
            if resp.status_code >= 400:
                raise _refusal(resp)
            if opened is not None:
                opened(resp)
            event, data = "message", []
            try:
                for line in resp.iter_lines(chunk_size=None, decode_unicode=True):
                    if line is None:
                        continue
                    if line == "":
                        if data:
                            try:
                                doc = json.loads("\n".join(data))
                            except ValueError:
                                doc = None
                            if isinstance(doc, dict):
                                yield {"event": event, "data": doc}
                        event, data = "message", []
                    elif line.startswith(":"):
                        continue  # keepalive
                    else:
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if name == "event":
                            event = value
                        elif name == "data":
                            data.append(value)
            except (requests.RequestException, AttributeError, ValueError) as exc:
                # A dropped connection, a read timeout or the response closed by FeedFollower.stop()
                raise Unavailable(f"the hub's live feed was interrupted ({type(exc).__name__})", "reconnecting") \
                    from None


class FeedFollower:
    """Follows the live feed on a background thread, reconnecting with growing waits (0.5 s … 30 s, jittered).

    `on_event(doc)` is called for every 代办 event and once after each (re)connection (`{"event": "ready"}`: the
    feed does not replay, so the caller lists the queue again); `on_state(live)` when the feed comes or goes,
    so the caller can poll while it is away. Both run on the follower's thread."""

    def __init__(self, client_factory: Callable[[], CounterClient], on_event: Callable[[dict], None],
                 on_state: Callable[[bool], None] | None = None, backoff_s: tuple[float, float] = FEED_BACKOFF_S) -> None:
        self.client_factory = client_factory
        self.on_event = on_event
        self.on_state = on_state or (lambda live: None)
        self.backoff_s = backoff_s
        self.live = False
        self.connections = 0  # how many times the feed was opened (tests, the status line)
        self._stop = threading.Event()
        self._resp: requests.Response | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> "FeedFollower":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="counter-feed", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following; returns at once (the thread ends when its read returns, closed here)."""
        self._stop.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            try:
                resp.close()
            except Exception:
                pass
        self._thread = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _opened(self, resp: requests.Response) -> None:
        with self._lock:
            self._resp = resp
        if self._stop.is_set():
            resp.close()

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self.on_state(live)

    def _run(self) -> None:
        wait = self.backoff_s[0]
        while not self._stop.is_set():
            try:
                client = self.client_factory()
                for doc in client.feed_events(opened=self._opened):
                    if self._stop.is_set():
                        return
                    if doc["event"] == "ready":
                        self.connections += 1
                        wait = self.backoff_s[0]
                        self._set_live(True)
                    self.on_event(doc)
            except CounterRefused as exc:
                log.warning("the hub refuses the live feed (%s); polling instead", exc.code)
            except KioskError:
                pass  # unreachable or interrupted: reconnect after a wait
            except Exception:
                log.exception("live feed follower failed; reconnecting")
            finally:
                with self._lock:
                    self._resp = None
            if self._stop.is_set():
                return
            self._set_live(False)
            self._stop.wait(wait * random.uniform(0.8, 1.0))
            wait = min(self.backoff_s[1], wait * 2)
