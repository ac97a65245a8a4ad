"""The counter's local queue of clerk actions, on the kiosk's `ActionOutbox` (kiosk.sync.action_outbox): every
action is written there first, then sent; while the hub is unreachable it waits, and goes out (with the same
Idempotency-Key, so exactly once) when the hub is back.

Each action carries the clerk's token (sealed with the body) and may carry files (pages of a 代收 collection, a
scanned 委托书), uploaded with tus before the call. A token that expired while an action waited makes the action
wait for the same clerk's next sign-in (`rebind`), never for somebody else's name. The queue file stays where it
was (`<data dir>/counter-actions/actions.db`); one written before the counter used the outbox is upgraded on first
open, its waiting actions kept.
"""
from __future__ import annotations

import logging
from pathlib import Path

from kiosk.counter.client import CounterClient, CounterRefused
from kiosk.errors import KioskError
from kiosk.sync.action_outbox import ActionOutbox, NeedsSignIn

log = logging.getLogger("kiosk.counter.actions")


class ActionQueue:
    def __init__(self, data_dir: str | Path, hub_url: str, timeout: float = 5.0, verify_tls: bool = True) -> None:
        self.outbox = ActionOutbox(data_dir, name="actions", root=Path(data_dir) / "counter-actions")
        self.root = self.outbox.root
        self.hub_url = hub_url
        self.timeout = timeout
        self.verify_tls = verify_tls

    def _client(self) -> CounterClient:
        # Every entry carries its clerk's token: the outbox sends each under its own (`with_token`).
        return CounterClient(self.hub_url, "", self.timeout, self.verify_tls)

    # -- writing -----------------------------------------------------------------------------
    def add(self, kind: str, method: str, path: str, body: dict | None, *, token: str, person_id: int, actor: str,
            files: list[dict] | None = None) -> str:
        """Keep an action on disk (before anything is sent); returns its id (= Idempotency-Key)."""
        return self.outbox.enqueue(kind, method, path, body, files=files, token=token, person_id=person_id,
                                   actor=actor)

    def perform(self, kind: str, method: str, path: str, body: dict | None, *, token: str, person_id: int, actor: str,
                files: list[dict] | None = None) -> tuple[str, dict | None]:
        """Keep the action, then try to send it now. Returns (id, the hub's answer) or (id, None) when it waits
        for the hub. A refusal raises `CounterRefused` (the action is marked refused: retrying will not help)."""
        action_id = self.add(kind, method, path, body, token=token, person_id=person_id, actor=actor, files=files)
        client = self._client()
        try:
            answer = self.outbox.send(client, action_id)
        except NeedsSignIn as exc:
            raise exc.cause if isinstance(exc.cause, CounterRefused) else CounterRefused("unauthorized", exc.message, 401)
        except CounterRefused:
            raise
        except KioskError as exc:  # an upload the hub refused
            raise CounterRefused("upload_refused", exc.message, getattr(exc, "status", None) or 400) from None
        finally:
            client.close()
        if answer is None:
            log.warning("hub unreachable: %s action %s waits in the counter queue (%s)", kind, action_id,
                        self.outbox.error(action_id) or "")
        return action_id, answer

    # -- sending -----------------------------------------------------------------------------
    def drain(self) -> dict:
        """Send what waits, oldest first. Stops at the first unreachable hub."""
        client = self._client()
        try:
            result = self.outbox.drain(client)
        finally:
            client.close()
        return {"sent": result["sent"], "refused": result["failed"], "waiting": len(self.waiting())}

    def rebind(self, person_id: int, token: str) -> int:
        """A clerk signed in again: their actions whose token ran out are sent with the new one."""
        return self.outbox.rebind(person_id, token)

    # -- reading -----------------------------------------------------------------------------
    def waiting(self) -> list[dict]:
        """Actions still to go out (pending, or waiting for their clerk's sign-in), oldest first."""
        return [{"id": r["key"], "kind": r["kind"], "path": r["path"], "person_id": r["person_id"], "actor": r["actor"],
                 "state": r["state"], "attempts": r["attempts"], "created_at": r["created_at"]}
                for r in self.outbox.pending() if r["state"] in ("pending", "needs_sign_in")]

    def answer(self, action_id: str) -> dict | None:
        """The hub's answer once sent; for a refused action {"state": "refused", "message": …}."""
        done = self.outbox.result(action_id)
        if done is not None:
            return done
        state = self.outbox.state(action_id)
        error = self.outbox.error(action_id)
        if state is None or error is None:
            return None
        return {"state": "refused" if state == "failed" else state, "message": error}

