"""A durable, encrypted queue of JSON calls to the hub (an evaluation, a clerk's action), each with its own
idempotency key, sent in order while the hub is reachable and kept while it is not.

Delivery is at least once; the hub makes the effect exactly once by the `Idempotency-Key` header, which stays the
same on every retry of the same entry. The body is AES-GCM sealed at rest (it may carry personal data) with the
kiosk's outbox key, bound to the entry's key. An entry the hub refuses (4xx) stops being retried and is kept with
the reason for `kiosk outbox status`; one it accepts is deleted.

Used by the kiosk for 好差评 (`kind` "evaluation") and by the counter for clerk actions while the hub is away.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from kiosk.errors import InvalidInput, KioskError, Unavailable
from kiosk.sync.at_rest import Sealer, load_or_create_key
from kiosk.sync.worker import DrainWorker

log = logging.getLogger(__name__)

METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_BODY_BYTES = 256 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | failed (the hub refused it; kept with the reason)
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    answer TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ActionOutbox:
    def __init__(self, data_dir: str | Path, name: str = "actions") -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "outbox"
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.db_path = self.root / f"{name}.db"
        self._sealer = Sealer(load_or_create_key(self.data_dir / "outbox.key"))
        self._send_lock = threading.Lock()  # one drain at a time keeps the hub's order the kiosk's order
        db = self._db()
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.db_path), timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # an accepted action must survive a power cut
        return db

    # -- queueing ----------------------------------------------------------------------------
    def enqueue(self, kind: str, method: str, path: str, body: dict[str, Any], key: str | None = None) -> str:
        """Keep one call for the hub; returns its idempotency key (a new UUID unless given). Enqueuing the same key
        again is a no-op, so a screen that retries after a crash does not queue a second copy."""
        method = method.upper()
        if method not in METHODS:
            raise InvalidInput(f"method {method} cannot be queued", f"use one of {', '.join(METHODS)}")
        if not path.startswith("/api/"):
            raise InvalidInput(f"path {path!r} is not a hub API path", "give a path under /api/")
        try:
            raw = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"the {kind} cannot be kept: {exc}", "pass plain JSON values") from None
        if len(raw) > MAX_BODY_BYTES:
            raise InvalidInput(f"the {kind} has {len(raw)} bytes; at most {MAX_BODY_BYTES}", "send less data")
        key = key or str(uuid.uuid4())
        db = self._db()
        try:
            with db:
                db.execute("INSERT OR IGNORE INTO actions (key, kind, method, path, body, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?)",
                           (key, kind, method, path, self._sealer.seal(raw, key.encode()), _now()))
        finally:
            db.close()
        return key

    def pending(self) -> list[dict]:
        """What waits or failed, oldest first, without the bodies."""
        db = self._db()
        try:
            rows = db.execute("SELECT key, kind, method, path, state, attempts, last_error, created_at FROM actions"
                              " ORDER BY seq").fetchall()
        finally:
            db.close()
        return [dict(r) for r in rows]

    def status(self) -> dict:
        rows = self.pending()
        return {"pending": sum(r["state"] == "pending" for r in rows),
                "failed": sum(r["state"] == "failed" for r in rows),
                "oldest": rows[0]["created_at"] if rows else None}

    def body(self, key: str) -> dict | None:
        db = self._db()
        try:
            row = db.execute("SELECT body FROM actions WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
        return None if row is None else json.loads(self._sealer.open(row["body"], key.encode()))

    def result(self, key: str) -> dict | None:
        """The hub's answer to a delivered entry (kept for a lookup after the entry is gone)."""
        db = self._db()
        try:
            row = db.execute("SELECT answer FROM results WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
        return None if row is None else json.loads(row["answer"])

    def retry_failed(self) -> int:
        db = self._db()
        try:
            with db:
                return db.execute("UPDATE actions SET state = 'pending', last_error = NULL WHERE state = 'failed'").rowcount
        finally:
            db.close()

    # -- sending -----------------------------------------------------------------------------
    def drain(self, client, should_stop: Callable[[], bool] | None = None) -> dict:
        """Send every pending entry in order. Stops at the first one the hub cannot take now (unreachable, 5xx):
        later entries wait behind it. Returns {"sent", "failed", "waiting"}."""
        sent = failed = 0
        with self._send_lock:
            db = self._db()
            try:
                rows = db.execute("SELECT seq, key, kind, method, path, body FROM actions WHERE state = 'pending'"
                                  " ORDER BY seq").fetchall()
            finally:
                db.close()
            for row in rows:
                if should_stop is not None and should_stop():
                    break
                key = row["key"]
                body = json.loads(self._sealer.open(row["body"], key.encode()))
                try:
                    resp = client._call(row["method"], row["path"], json=body, headers={"Idempotency-Key": key})
                except Unavailable as exc:
                    self._note(key, "pending", exc.message)
                    break
                except KioskError as exc:  # the hub refused it: retrying the same call will not help
                    log.warning("hub refused a queued %s: %s", row["kind"], exc.message)
                    self._note(key, "failed", exc.message)
                    failed += 1
                    continue
                try:
                    answer = resp.json()
                except ValueError:
                    answer = {}
                self._done(key, row["kind"], answer)
                sent += 1
        return {"sent": sent, "failed": failed, "waiting": self.status()["pending"]}

    def _note(self, key: str, state: str, error: str) -> None:
        db = self._db()
        try:
            with db:
                db.execute("UPDATE actions SET state = ?, attempts = attempts + 1, last_error = ? WHERE key = ?",
                           (state, error[:500], key))
        finally:
            db.close()

    def _done(self, key: str, kind: str, answer: Any) -> None:
        db = self._db()
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO results (key, kind, answer, sent_at) VALUES (?, ?, ?, ?)",
                           (key, kind, json.dumps(answer, ensure_ascii=False), _now()))
                db.execute("DELETE FROM actions WHERE key = ?", (key,))
                # Answers are only for a short lookup; a kiosk keeps the last few hundred.
                db.execute("DELETE FROM results WHERE key NOT IN (SELECT key FROM results ORDER BY sent_at DESC LIMIT 500)")
        finally:
            db.close()


class ActionOutboxWorker(DrainWorker):
    """Drains an ActionOutbox every `interval_s` seconds in a background thread; `wake()` drains now."""

    thread_name = "action-outbox"

    def has_work(self) -> bool:
        return bool(self.outbox.status()["pending"])
