"""What the counter's screens call (from a worker thread): the clerk's sign-in and shift, lookups, 代发, 代收 and
the 代办 queue, each clerk action kept in the local `ActionQueue` first.

In training mode (`start_training`) everything points at a training hub and platform simulator started on
this machine, with its own data directory: nothing reaches the real hub.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from kiosk.counter.actions import ActionQueue
from kiosk.counter.clerk import ClerkSession
from kiosk.counter.client import CounterClient, CounterRefused
from kiosk.errors import KioskError

log = logging.getLogger("kiosk.counter")

__all__ = ["CounterServices", "CounterRefused", "NotSignedIn"]


class NotSignedIn(KioskError):
    def __init__(self) -> None:
        super().__init__("no clerk is signed in", "sign in with your ID card and PIN")


class CounterServices:
    def __init__(self, cfg, terminal) -> None:
        self.cfg = cfg
        self.terminal = terminal
        self.clerk: ClerkSession | None = None
        self.training = None  # a TrainingStack while training mode is on
        self._queues: dict[str, ActionQueue] = {}
        self._lock = threading.Lock()
        self._real = None  # the terminal's real hub client and outbox, kept while training

    # -- where to -----------------------------------------------------------------------------
    @property
    def hub_url(self) -> str:
        return self.training.hub_url if self.training else self.cfg.hub.url

    @property
    def device_token(self) -> str:
        return self.training.token if self.training else self.cfg.hub.token

    @property
    def data_dir(self) -> Path:
        base = Path(self.cfg.kiosk.data_dir)
        return base / "training" / "kiosk" if self.training else base

    def device_client(self) -> CounterClient:
        return CounterClient(self.hub_url, self.device_token, self.cfg.hub.timeout_s, self.cfg.hub.verify_tls)

    def clerk_client(self) -> CounterClient:
        if self.clerk is None:
            raise NotSignedIn()
        return CounterClient(self.hub_url, self.clerk.token, self.cfg.hub.timeout_s, self.cfg.hub.verify_tls)

    def actions(self) -> ActionQueue:
        key = str(self.data_dir)
        with self._lock:
            if key not in self._queues:
                self._queues[key] = ActionQueue(self.data_dir, self.hub_url, self.cfg.hub.timeout_s,
                                                self.cfg.hub.verify_tls)
            return self._queues[key]

    # -- the clerk ----------------------------------------------------------------------------
    def sign_in(self, card: dict, pin: str) -> ClerkSession:
        id_number = str(card.get("id_number") or "")
        client = self.device_client()
        try:
            doc = client.sign_in(id_number, pin)
        finally:
            client.close()
        clerk = ClerkSession.from_answer(doc, id_number, training=self.training is not None)
        self.clerk = clerk
        try:
            waiting = self.actions().rebind(clerk.person_id, clerk.token)
            if waiting:
                log.info("%d queued actions of this clerk go out with the new token", waiting)
                self.actions().drain()
        except KioskError as exc:
            log.warning("queued actions not sent yet: %s", exc)
        return clerk

    def sign_out(self, reason: str = "sign_out") -> None:
        clerk, self.clerk = self.clerk, None
        if clerk is None:
            return
        client = CounterClient(self.hub_url, clerk.token, self.cfg.hub.timeout_s, self.cfg.hub.verify_tls)
        try:
            client.call("POST", "/api/v1/counter/sign-out", params={"reason": reason})
        except KioskError as exc:  # the token runs out by itself at the end of the shift
            log.warning("sign-out not confirmed by the hub: %s", exc)
        finally:
            client.close()

    def stamp(self) -> dict:
        """What a case entered at this counter carries: the clerk, the outlet, training."""
        c = self.clerk
        if c is None:
            return {}
        return {"clerk": c.name, "clerk_role": c.role, "person_id": c.person_id, "outlet_code": c.outlet_code,
                "training": c.training}

    # -- actions ------------------------------------------------------------------------------
    def perform(self, kind: str, method: str, path: str, body: dict | None = None,
                files: list[dict] | None = None) -> dict | None:
        """Keep the action locally, send it now; None when it waits for the hub (the screen says so)."""
        if self.clerk is None:
            raise NotSignedIn()
        _, answer = self.actions().perform(kind, method, path, body, token=self.clerk.token,
                                           person_id=self.clerk.person_id, actor=self.clerk.actor, files=files)
        return answer

    def call(self, method: str, path: str, **kwargs):
        """A read (no effect): straight to the hub with the clerk's token."""
        client = self.clerk_client()
        try:
            return client.call(method, path, **kwargs)
        finally:
            client.close()

    def drain(self) -> dict:
        return self.actions().drain()

    def lookup(self, **by) -> list[dict]:
        return list(self.call("POST", "/api/v1/counter/lookup", json={k: v for k, v in by.items() if v})["results"])


# -- the 代办 queue (docs/proxy-api.md) ----------------------------------------------------------
OPEN_STATUSES = "new,released,claimed,in_progress,waiting_citizen,filed"


def list_requests(services: CounterServices, **query) -> list[dict]:
    params = {"status": OPEN_STATUSES, "limit": 50, **{k: v for k, v in query.items() if v is not None}}
    return list(services.call("GET", "/api/v1/proxy-requests", params=params)["items"])


def claim_next(services: CounterServices, request_id: int | None = None) -> dict | None:
    """A claim is an allocation the hub must confirm at once: never queued (an unreachable hub raises)."""
    body = {"id": request_id} if request_id else {}
    answer = services.call("POST", "/api/v1/proxy-requests/claim", json=body)
    return answer or None


def material_pages(services: CounterServices, request_id: int, upload_id: str) -> list[bytes]:
    """A scan the citizen attached to a 代办 request, as page images (for its holder and the level that owns it;
    the hub records each viewing)."""
    from kiosk.counter.material_pages import page_images

    client = services.clerk_client()
    try:
        pdf = client.download(f"/api/v1/proxy-requests/{request_id}/materials/{upload_id}")
    finally:
        client.close()
    return page_images(pdf)


def request_detail(services: CounterServices, request_id: int, unmasked: bool = False) -> dict:
    params = {"unmasked": "true"} if unmasked else None
    return services.call("GET", f"/api/v1/proxy-requests/{request_id}", params=params)


def transition(services: CounterServices, request_id: int, action: str, note: str = "", **extra) -> dict | None:
    body = {"action": action, **({"note": note} if note else {}), **extra}
    return services.perform(f"transition:{action}", "POST", f"/api/v1/proxy-requests/{request_id}/transitions", body)


def escalate(services: CounterServices, request_id: int, direction: str, reason: str) -> dict | None:
    return services.perform(f"escalation:{direction}", "POST", f"/api/v1/proxy-requests/{request_id}/escalations",
                            {"direction": direction, "reason": reason})


def sign_mandate(services: CounterServices, request: dict, principal: dict, signature_png: bytes,
                 expires_at: str, scope_text: str) -> dict:
    """Create the 委托书 with the citizen's signature (on screen or scanned) and the clerk as agent, then activate
    it. Needs the hub (the signature is checked there): an unreachable hub raises."""
    import base64

    clerk = services.clerk
    if clerk is None:
        raise NotSignedIn()
    body = {"request_id": request["id"], "scope_items": [request["item_code"]], "scope_text": scope_text,
            "expires_at": expires_at,
            "principal": {"name": principal["name"], "id_number": principal["id_number"],
                          "card_type": "111" if principal.get("card_type") in (None, "", "resident", "111") else principal["card_type"]},
            "signature_png_b64": base64.b64encode(signature_png).decode("ascii")}
    if clerk.id_number:
        body["agent"] = {"name": clerk.name, "id_number": clerk.id_number, "card_type": "111"}
    mandate = services.call("POST", "/api/v1/mandates", json=body)
    return services.call("POST", f"/api/v1/mandates/{mandate['id']}/actions", json={"action": "activate"})
