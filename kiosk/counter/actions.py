"""The counter's local queue of clerk actions: every action is written here first, then sent; while the hub is
unreachable it waits, and goes out (with the same Idempotency-Key, so exactly once) when the hub is back.

Bodies and the clerk's token are sealed with AES-GCM (key file 0600, the outbox's key). Files an action needs
(pages of a 代收 collection, a scanned 委托书) are copied next to the queue and uploaded with tus before the
call. A token that expired while an action waited makes the action wait for the same clerk's next sign-in
(`rebind`), never for somebody else's name.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sqlite3
import uuid
from pathlib import Path

from kiosk.counter.client import CounterClient, CounterRefused
from kiosk.errors import KioskError, Unavailable
from kiosk.sync.at_rest import Sealer, load_or_create_key

log = logging.getLogger("kiosk.counter.actions")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id TEXT PRIMARY KEY,               -- also the Idempotency-Key
    kind TEXT NOT NULL,                -- claim | transition | escalation | handout | collection | mandate | …
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    actor TEXT NOT NULL,               -- 'clerk:李文华', for the list on screen
    sealed BLOB NOT NULL,              -- {"body": …, "token": …, "files": [...]}
    state TEXT NOT NULL,               -- pending | sending | needs_sign_in | sent | refused
    attempts INTEGER NOT NULL DEFAULT 0,
    answer TEXT,                       -- the hub's answer once sent (JSON), or the refusal
    created_at TEXT NOT NULL,
    sent_at TEXT
);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ActionQueue:
    def __init__(self, data_dir: str | Path, hub_url: str, timeout: float = 5.0, verify_tls: bool = True) -> None:
        self.root = Path(data_dir) / "counter-actions"
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.hub_url = hub_url
        self.timeout = timeout
        self.verify_tls = verify_tls
        self._sealer = Sealer(load_or_create_key(Path(data_dir) / "outbox.key"))
        with self._db() as db:
            db.executescript(_SCHEMA)
            # An action that was being sent when the app stopped is sent again (same key: the hub applies it once).
            db.execute("UPDATE actions SET state = 'pending' WHERE state = 'sending'")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.root / "actions.db"), timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    # -- writing -----------------------------------------------------------------------------
    def add(self, kind: str, method: str, path: str, body: dict | None, *, token: str, person_id: int, actor: str,
            files: list[dict] | None = None) -> str:
        """Keep an action on disk (before anything is sent); returns its id (= Idempotency-Key)."""
        action_id = str(uuid.uuid4())
        kept = []
        for f in files or []:
            dest = self.files_dir / f"{action_id}-{len(kept)}{Path(f['path']).suffix}"
            shutil.copyfile(f["path"], dest)
            kept.append({**f, "path": str(dest)})
        doc = {"body": body, "token": token, "files": kept}
        sealed = self._sealer.seal(json.dumps(doc, ensure_ascii=False).encode(), action_id.encode())
        db = self._db()
        try:
            with db:
                db.execute("INSERT INTO actions (id, kind, method, path, person_id, actor, sealed, state, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                           (action_id, kind, method, path, person_id, actor, sealed, _now()))
        finally:
            db.close()
        return action_id

    def perform(self, kind: str, method: str, path: str, body: dict | None, *, token: str, person_id: int, actor: str,
                files: list[dict] | None = None) -> tuple[str, dict | None]:
        """Keep the action, then try to send it now. Returns (id, the hub's answer) or (id, None) when it waits
        for the hub. A refusal raises `CounterRefused` (the action is marked refused: retrying will not help)."""
        action_id = self.add(kind, method, path, body, token=token, person_id=person_id, actor=actor, files=files)
        try:
            return action_id, self._send(action_id)
        except Unavailable as exc:
            log.warning("hub unreachable: %s action %s waits in the counter queue (%s)", kind, action_id, exc.message)
            return action_id, None

    # -- sending -----------------------------------------------------------------------------
    def _load(self, action_id: str) -> tuple[sqlite3.Row, dict]:
        db = self._db()
        try:
            row = db.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
        finally:
            db.close()
        return row, json.loads(self._sealer.open(row["sealed"], action_id.encode()))

    def _set(self, action_id: str, **values) -> None:
        db = self._db()
        try:
            with db:
                cols = ", ".join(f"{k} = ?" for k in values)
                db.execute(f"UPDATE actions SET {cols} WHERE id = ?", (*values.values(), action_id))
        finally:
            db.close()

    def _send(self, action_id: str) -> dict:
        row, doc = self._load(action_id)
        client = CounterClient(self.hub_url, doc["token"], self.timeout, self.verify_tls)
        # 'sending': the periodic drain leaves it alone while this call is in flight.
        self._set(action_id, attempts=row["attempts"] + 1, state="sending")
        try:
            body = self._upload_files(doc, action_id)
            answer = client.call(row["method"], row["path"], json=body, key=action_id)
        except CounterRefused as exc:
            note = json.dumps({"code": exc.code, "message": exc.message}, ensure_ascii=False)
            if exc.status == 401:  # the clerk token ran out: wait for the same clerk's next sign-in
                self._set(action_id, state="needs_sign_in", answer=note)
            else:  # refused as asked: retrying would not help
                self._set(action_id, state="refused", answer=note)
                self._drop_files(doc)
            raise
        except BaseException:  # unreachable hub, or anything else: it waits for the next try
            self._set(action_id, state="pending")
            raise
        finally:
            client.close()
        self._set(action_id, state="sent", sent_at=_now(), answer=json.dumps(answer, ensure_ascii=False),
                  sealed=self._sealer.seal(json.dumps({"body": None, "token": "", "files": []}).encode(), action_id.encode()))
        self._drop_files(doc)
        return answer

    def _upload_files(self, doc: dict, action_id: str) -> dict | None:
        """Upload the action's files with tus (resuming is not needed: they are small) and put each upload URL
        into the body's `materials` (matched by code)."""
        body = doc["body"]
        if not doc["files"]:
            return body
        from kiosk.sync.client import HubClient, HubRejected

        hub = HubClient(self.hub_url, doc["token"], timeout=self.timeout, verify_tls=self.verify_tls)
        try:
            urls = {}
            for f in doc["files"]:
                try:
                    urls[f["code"]] = hub.upload_material(f["path"], {"filename": Path(f["path"]).name,
                                                                      "action": action_id})
                except HubRejected as exc:
                    raise CounterRefused("upload_refused", exc.message, exc.status or 400) from None
        finally:
            hub.close()
        body = json.loads(json.dumps(body))
        for m in body.get("materials", []):
            if m.get("code") in urls:
                m["upload_url"] = urls[m["code"]]
        return body

    def _drop_files(self, doc: dict) -> None:
        for f in doc.get("files", []):
            Path(f["path"]).unlink(missing_ok=True)

    def drain(self) -> dict:
        """Send what waits, oldest first. Stops at the first unreachable hub."""
        sent, refused, waiting = 0, 0, 0
        for row in self.waiting():
            if row["state"] != "pending":
                continue
            try:
                self._send(row["id"])
                sent += 1
            except Unavailable:
                waiting += 1
                break
            except CounterRefused:
                refused += 1
            except KioskError:
                waiting += 1
                break
        return {"sent": sent, "refused": refused, "waiting": len(self.waiting())}

    def rebind(self, person_id: int, token: str) -> int:
        """A clerk signed in again: their actions whose token ran out are sent with the new one."""
        n = 0
        for row in self.waiting():
            if row["person_id"] != person_id:
                continue
            _, doc = self._load(row["id"])
            doc["token"] = token
            self._set(row["id"], state="pending",
                      sealed=self._sealer.seal(json.dumps(doc, ensure_ascii=False).encode(), row["id"].encode()))
            n += 1
        return n

    # -- reading -----------------------------------------------------------------------------
    def waiting(self) -> list[sqlite3.Row]:
        db = self._db()
        try:
            return db.execute("SELECT id, kind, path, person_id, actor, state, attempts, created_at FROM actions"
                              " WHERE state IN ('pending', 'needs_sign_in') ORDER BY created_at, rowid").fetchall()
        finally:
            db.close()

    def answer(self, action_id: str) -> dict | None:
        db = self._db()
        try:
            row = db.execute("SELECT state, answer FROM actions WHERE id = ?", (action_id,)).fetchone()
        finally:
            db.close()
        if row is None or row["answer"] is None:
            return None
        return {"state": row["state"], **json.loads(row["answer"])} if row["state"] != "sent" else json.loads(row["answer"])
