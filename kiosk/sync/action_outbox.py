"""A durable, encrypted queue of JSON calls to the hub (an evaluation, a 代办 request, a clerk's action), each with
its own idempotency key, sent in order while the hub is reachable and kept while it is not.

Delivery is at least once; the hub makes the effect exactly once by the `Idempotency-Key` header, which stays the
same on every retry of the same entry. The body is AES-GCM sealed at rest (it may carry personal data) with the
kiosk's outbox key, bound to the entry's key. An entry the hub refuses (4xx) stops being retried and is kept with
the reason for `kiosk outbox status`; one it accepts is deleted and its answer kept for a short lookup.

An entry may also carry
- files (a signature, a scanned 委托书, pages of a 代收 collection): copied next to the queue (sealed) when the
  entry is kept, uploaded with tus before the call, each upload URL put into the body's `materials` (matched by `code`;
  added when the body has none with that code). An upload URL is kept once made, so a retry sends the same body;
- a token of its own (a clerk's) with the person it belongs to: the entry goes out under that token only. When
  the hub says the token ran out (401) the entry waits (`needs_sign_in`) for the same person's next sign-in
  (`rebind`), never for somebody else's name;
- `after` (the key of an earlier entry) and `fill` ({body field: answer field}): it is sent once the earlier one
  was delivered, with fields of the hub's answer to it (a 委托书 names the request the hub numbered).

Used by the kiosk for 好差评 and 我要代办, and by the counter for clerk actions (`kiosk.counter.actions`).
"""
from __future__ import annotations

import datetime as dt
import io
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
MAX_FILE_BYTES = 20 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | failed (the hub refused it) | needs_sign_in (token ran out)
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    person_id INTEGER,                       -- whose token the entry carries (a clerk), or NULL: the device's
    actor TEXT,                              -- 'clerk:李文华', for a list on screen
    extra BLOB                               -- sealed {"token", "files", "after", "fill"}, or NULL
);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    answer TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""
_ADDED_COLUMNS = (("person_id", "INTEGER"), ("actor", "TEXT"), ("extra", "BLOB"))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class NeedsSignIn(KioskError):
    """The entry's own token ran out: it waits for the same person's next sign-in."""

    def __init__(self, message: str, status: int = 401, cause: KioskError | None = None) -> None:
        super().__init__(message, "sign in again: the action is sent with the new sign-in")
        self.status = status
        self.cause = cause  # the client's own refusal


class ActionOutbox:
    def __init__(self, data_dir: str | Path, name: str = "actions", root: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.root = Path(root) if root is not None else self.data_dir / "outbox"
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.files_dir = self.root / "files"
        self.db_path = self.root / f"{name}.db"
        self._sealer = Sealer(load_or_create_key(self.data_dir / "outbox.key"))
        self._send_lock = threading.Lock()  # one sender at a time keeps the hub's order the kiosk's order
        db = self._db()
        try:
            self._upgrade(db)
        finally:
            db.close()

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.db_path), timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # an accepted action must survive a power cut
        return db

    def _upgrade(self, db: sqlite3.Connection) -> None:
        cols = {r["name"] for r in db.execute("PRAGMA table_info(actions)")}
        if "id" in cols and "key" not in cols:
            self._migrate_counter_queue(db)
            return
        db.executescript(_SCHEMA)
        if cols:
            with db:
                for col, kind in _ADDED_COLUMNS:
                    if col not in cols:
                        db.execute(f"ALTER TABLE actions ADD COLUMN {col} {kind}")

    def _migrate_counter_queue(self, db: sqlite3.Connection) -> None:
        """The counter's own queue file (before it used this outbox): its waiting actions become entries here
        with the same key, token and files; sent ones become results; refused ones stay as failed."""
        with db:
            db.execute("ALTER TABLE actions RENAME TO counter_actions_v1")
        db.executescript(_SCHEMA)
        old = db.execute("SELECT * FROM counter_actions_v1 ORDER BY created_at, rowid").fetchall()
        with db:
            for r in old:
                key = r["id"]
                doc = json.loads(self._sealer.open(r["sealed"], key.encode()))
                if r["state"] == "sent":
                    db.execute("INSERT OR REPLACE INTO results (key, kind, answer, sent_at) VALUES (?, ?, ?, ?)",
                               (key, r["kind"], r["answer"] or "{}", r["sent_at"] or _now()))
                    continue
                state = {"needs_sign_in": "needs_sign_in", "refused": "failed"}.get(r["state"], "pending")
                error = None
                if r["answer"]:
                    try:
                        error = str(json.loads(r["answer"]).get("message") or r["answer"])
                    except (ValueError, AttributeError):
                        error = r["answer"]
                raw = json.dumps(doc.get("body"), ensure_ascii=False).encode("utf-8")
                extra = {"token": doc.get("token") or "", "files": doc.get("files") or []}
                db.execute("INSERT OR IGNORE INTO actions (key, kind, method, path, body, state, attempts, last_error,"
                           " created_at, person_id, actor, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (key, r["kind"], r["method"], r["path"], self._sealer.seal(raw, key.encode()), state,
                            r["attempts"], error, r["created_at"], r["person_id"], r["actor"], self._seal_extra(key, extra)))
            db.execute("DROP TABLE counter_actions_v1")
        if old:
            log.info("counter queue upgraded: %d actions kept", sum(r["state"] != "sent" for r in old))

    def _seal_extra(self, key: str, extra: dict) -> bytes:
        return self._sealer.seal(json.dumps(extra, ensure_ascii=False).encode("utf-8"), b"extra:" + key.encode())

    def _open_extra(self, key: str, sealed: bytes | None) -> dict:
        if sealed is None:
            return {}
        return json.loads(self._sealer.open(sealed, b"extra:" + key.encode()))

    # -- queueing ----------------------------------------------------------------------------
    def enqueue(self, kind: str, method: str, path: str, body: dict[str, Any] | None, key: str | None = None, *,
                files: list[dict] | None = None, token: str | None = None, person_id: int | None = None,
                actor: str | None = None, after: str | None = None, fill: dict[str, str] | None = None) -> str:
        """Keep one call for the hub; returns its idempotency key (a new UUID unless given). Enqueuing the same key
        again is a no-op, so a screen that retries after a crash does not queue a second copy.

        `files`: [{"code", "name", "path"} or {"code", "name", "content": bytes, "suffix": ".png"}], uploaded with
        tus before the call. `token`/`person_id`: the entry goes out under that person's token only. `after`/`fill`:
        see the module's docstring."""
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
        if token is not None and person_id is None:
            raise InvalidInput("an entry with its own token needs the person it belongs to",
                               "pass person_id with token")
        key = key or str(uuid.uuid4())
        db = self._db()
        try:
            if db.execute("SELECT 1 FROM actions WHERE key = ?", (key,)).fetchone() is not None:
                return key
            kept = self._keep_files(key, files or [])
            extra = None
            if kept or token is not None or after is not None:
                extra = self._seal_extra(key, {"token": token, "files": kept, "after": after, "fill": fill or {}})
            with db:
                db.execute("INSERT OR IGNORE INTO actions (key, kind, method, path, body, created_at, person_id, actor,"
                           " extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (key, kind, method, path, self._sealer.seal(raw, key.encode()), _now(), person_id, actor,
                            extra))
        finally:
            db.close()
        return key

    def _keep_files(self, key: str, files: list[dict]) -> list[dict]:
        kept: list[dict] = []
        if not files:
            return kept
        self.files_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for f in files:
            suffix = f.get("suffix") or (Path(f["path"]).suffix if f.get("path") else "")
            dest = self.files_dir / f"{key}-{len(kept)}{suffix}"
            try:
                data = f["content"] if f.get("content") is not None else Path(f["path"]).read_bytes()
                if len(data) > MAX_FILE_BYTES:
                    raise InvalidInput(f"the file {f.get('name') or f.get('code')} has {len(data)} bytes;"
                                       f" at most {MAX_FILE_BYTES}", "scan it at a lower resolution")
                # Sealed like the body (a signature, a scanned ID page are personal data), bound to its place.
                dest.write_bytes(self._sealer.seal(data, f"file:{key}:{len(kept)}".encode()))
            except OSError as exc:
                for k in kept:
                    Path(k["path"]).unlink(missing_ok=True)
                raise InvalidInput(f"the file {f.get('name') or f.get('code')} cannot be kept: {exc.strerror}",
                                   "scan it again") from None
            os.chmod(dest, 0o600)
            kept.append({k: v for k, v in f.items() if k not in ("content", "suffix")}
                        | {"path": str(dest), "sealed": f"file:{key}:{len(kept)}"})
        return kept

    def pending(self) -> list[dict]:
        """What waits or failed, oldest first, without the bodies."""
        db = self._db()
        try:
            rows = db.execute("SELECT key, kind, method, path, state, attempts, last_error, created_at, person_id,"
                              " actor FROM actions ORDER BY seq").fetchall()
        finally:
            db.close()
        return [dict(r) for r in rows]

    def status(self) -> dict:
        rows = self.pending()
        return {"pending": sum(r["state"] == "pending" for r in rows),
                "failed": sum(r["state"] == "failed" for r in rows),
                "needs_sign_in": sum(r["state"] == "needs_sign_in" for r in rows),
                "oldest": rows[0]["created_at"] if rows else None}

    def state(self, key: str) -> str | None:
        """pending | failed | needs_sign_in | sent, or None for a key this outbox never had (or forgot)."""
        db = self._db()
        try:
            row = db.execute("SELECT state FROM actions WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return row["state"]
            return "sent" if db.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone() else None
        finally:
            db.close()

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

    def error(self, key: str) -> str | None:
        db = self._db()
        try:
            row = db.execute("SELECT last_error FROM actions WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
        return None if row is None else row["last_error"]

    def retry_failed(self) -> int:
        db = self._db()
        try:
            with db:
                return db.execute("UPDATE actions SET state = 'pending', last_error = NULL WHERE state = 'failed'").rowcount
        finally:
            db.close()

    def rebind(self, person_id: int, token: str) -> int:
        """A person signed in again: their entries (waiting for that, or still pending) go out with the new token.
        Entries of anybody else keep theirs."""
        db = self._db()
        try:
            rows = db.execute("SELECT key, extra FROM actions WHERE person_id = ? AND state IN ('pending', 'needs_sign_in')",
                              (person_id,)).fetchall()
            with db:
                for r in rows:
                    extra = self._open_extra(r["key"], r["extra"])
                    extra["token"] = token
                    db.execute("UPDATE actions SET state = 'pending', extra = ? WHERE key = ?",
                               (self._seal_extra(r["key"], extra), r["key"]))
        finally:
            db.close()
        return len(rows)

    # -- sending -----------------------------------------------------------------------------
    def drain(self, client, should_stop: Callable[[], bool] | None = None) -> dict:
        """Send every pending entry in order. Stops at the first one the hub cannot take now (unreachable, 5xx):
        later entries wait behind it. Returns {"sent", "failed", "waiting"}."""
        sent = failed = 0
        with self._send_lock:
            db = self._db()
            try:
                rows = db.execute("SELECT * FROM actions WHERE state = 'pending' ORDER BY seq").fetchall()
            finally:
                db.close()
            for row in rows:
                if should_stop is not None and should_stop():
                    break
                try:
                    self._deliver(client, row)
                except Unavailable:
                    break
                except NeedsSignIn:
                    continue
                except KioskError:
                    failed += 1
                    continue
                sent += 1
        return {"sent": sent, "failed": failed, "waiting": self.status()["pending"]}

    def send(self, client, key: str) -> dict | None:
        """Send this one entry now (a screen waiting for the hub's answer). Returns the hub's answer, or None when
        the entry waits (hub unreachable, or an earlier entry it depends on is not through yet). A refusal raises
        the client's error (the entry is kept as failed); `NeedsSignIn` when its token ran out."""
        with self._send_lock:
            db = self._db()
            try:
                row = db.execute("SELECT * FROM actions WHERE key = ?", (key,)).fetchone()
            finally:
                db.close()
            if row is None:
                return self.result(key)
            if row["state"] != "pending":
                return None
            try:
                return self._deliver(client, row)
            except Unavailable:
                return None

    def _deliver(self, client, row: sqlite3.Row) -> dict:
        key = row["key"]
        body = json.loads(self._sealer.open(row["body"], key.encode()))
        extra = self._open_extra(key, row["extra"])
        own = None
        try:
            if extra.get("after"):
                body = self._filled(extra, body, key)
            if extra.get("token") is not None:
                own = client = _with_token(client, extra["token"])
            if extra.get("files"):
                body = self._upload_files(client, key, row, extra, body)
            answer = _call(client, row["method"], row["path"], body, key)
        except Unavailable as exc:
            self._note(key, "pending", exc.message)
            raise
        except KioskError as exc:
            if getattr(exc, "status", None) == 401 and extra.get("token") is not None:
                self._note(key, "needs_sign_in", exc.message)
                raise NeedsSignIn(exc.message, cause=exc) from None
            if isinstance(exc, _Waits):
                raise Unavailable(exc.message, exc.action) from None
            log.warning("hub refused a queued %s: %s", row["kind"], exc.message)
            self._note(key, "failed", exc.message)
            self._drop_files(extra)
            raise
        finally:
            if own is not None:
                own.close()
        self._done(key, row["kind"], answer)
        self._drop_files(extra)
        return answer

    def _filled(self, extra: dict, body: Any, key: str) -> Any:
        earlier = self.result(extra["after"])
        if earlier is None:
            state = self.state(extra["after"])
            if state in ("failed", None):
                raise KioskError(f"the call this one follows ({extra['after']}) was refused by the hub", "")
            raise _Waits(f"waits for the call it follows ({extra['after']})", "")
        body = dict(body or {})
        for field, source in (extra.get("fill") or {}).items():
            body[field] = earlier.get(source)
        return body

    def _upload_files(self, client, key: str, row: sqlite3.Row, extra: dict, body: Any) -> Any:
        """Upload the entry's files with tus (each once: the URL is kept, so a retry sends the same body) and put
        each upload URL into the body's `materials` (matched by code)."""
        hub = client if hasattr(client, "upload_material") else None
        try:
            changed = False
            for f in extra["files"]:
                if f.get("upload_url"):
                    continue
                if hub is None:
                    from kiosk.sync.client import HubClient

                    hub = HubClient(client.url, client.token, client.timeout, client.session.verify)
                meta = {"filename": Path(f["path"]).name, "action": key}
                if f.get("sealed"):
                    data = self._sealer.open(Path(f["path"]).read_bytes(), f["sealed"].encode())
                    f["upload_url"] = hub.upload_material(f["path"], meta, file_stream=io.BytesIO(data))
                else:  # a file kept by the counter's queue before it used this outbox
                    f["upload_url"] = hub.upload_material(f["path"], meta)
                changed = True
                # Kept now: the hub's idempotency check compares bodies, so a retry must name the same upload.
                self._set_extra(key, extra)
        finally:
            if hub is not None and hub is not client:
                hub.close()
        if changed:
            log.info("%s %s: %d file(s) uploaded", row["kind"], key, len(extra["files"]))
        body = json.loads(json.dumps(body if body is not None else {}))
        materials = body.setdefault("materials", [])
        for f in extra["files"]:
            m = next((m for m in materials if m.get("code") == f.get("code")), None)
            if m is not None:
                m["upload_url"] = f["upload_url"]
            elif f.get("name"):
                materials.append({"code": f["code"], "name": f["name"], "upload_url": f["upload_url"]})
        return body

    def _set_extra(self, key: str, extra: dict) -> None:
        db = self._db()
        try:
            with db:
                db.execute("UPDATE actions SET extra = ? WHERE key = ?", (self._seal_extra(key, extra), key))
        finally:
            db.close()

    @staticmethod
    def _drop_files(extra: dict) -> None:
        for f in extra.get("files") or []:
            Path(f["path"]).unlink(missing_ok=True)

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


class _Waits(KioskError):
    """Not sendable yet (an earlier entry it depends on is still on its way): like an unreachable hub."""


def _with_token(client, token: str):
    """The same kind of client for the same hub, under another token."""
    if hasattr(client, "with_token"):
        return client.with_token(token)
    return type(client)(client.url, token, client.timeout, client.session.verify)


def _call(client, method: str, path: str, body: Any, key: str) -> Any:
    """One call with the entry's Idempotency-Key, on a `HubClient` (`_call`) or a `CounterClient` (`call`)."""
    if hasattr(client, "_call"):
        resp = client._call(method, path, json=body, headers={"Idempotency-Key": key})
        try:
            return resp.json()
        except ValueError:
            return {}
    return client.call(method, path, json=body, key=key)


class ActionOutboxWorker(DrainWorker):
    """Drains an ActionOutbox every `interval_s` seconds in a background thread; `wake()` drains now."""

    thread_name = "action-outbox"

    def has_work(self) -> bool:
        return bool(self.outbox.status()["pending"])
