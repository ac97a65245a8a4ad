"""The kiosk's local outbox: cases wait here until the hub confirms them, so a citizen can finish while the
hub is unreachable (DESIGN §2, §6).

Delivery is at-least-once: each entry keeps one Idempotency-Key for all its retries, so the hub creates
the case exactly once. Payloads, receipts and material copies are sealed with AES-GCM (key file 0600 in the
data directory) and deleted as soon as the hub confirms; what stays is the receipt number and case number.
A receipt copy (the printed ESC/POS bytes, for a clerk's reprint) waits in its own table until its case has
reached the hub, then goes to the hub as well.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Callable

from kiosk.errors import InvalidInput, KioskError, Unavailable
from kiosk.sync.at_rest import Sealer, load_or_create_key
from kiosk.sync.client import MAX_RECEIPT_BYTES, HubBusy, HubClient, HubRejected, HubServerError, UploadGone
from kiosk.sync.worker import DrainWorker

log = logging.getLogger("kiosk.sync.outbox")

SENT_RETENTION = dt.timedelta(days=30)  # sent rows (receipt no. → case no., nothing personal) kept this long
SET_ASIDE_AFTER = 3  # server errors on one entry, while the hub works for others, before it is set aside


class DiskFull(KioskError):
    """The kiosk's own disk is full: nothing was queued (no half-written entry is left)."""

    exit_code = 5


def _disk_full(exc: BaseException) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    receipt_no TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,              -- pending | sent | failed
    item_code TEXT NOT NULL DEFAULT '',
    item_name TEXT NOT NULL DEFAULT '',
    payload BLOB,                     -- sealed JSON; NULL once sent
    receipt BLOB,                     -- unused since receipt copies have their own table (see below)
    files TEXT NOT NULL DEFAULT '[]', -- [{name, stored, sha256, bytes, upload_url, uploaded}]
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    case_no TEXT,
    hub_status TEXT,
    created_at TEXT NOT NULL,
    last_attempt_at TEXT,
    sent_at TEXT,
    server_errors INTEGER NOT NULL DEFAULT 0  -- 5xx answers while the hub worked for other entries
);
CREATE TABLE IF NOT EXISTS receipts (  -- receipt copies on their way to the hub; a row goes once the hub has it
    receipt_no TEXT PRIMARY KEY,
    escpos BLOB NOT NULL,             -- sealed ESC/POS bytes
    sha256 TEXT NOT NULL,             -- of the plain bytes: a newer copy is never deleted for an older one
    bytes INTEGER NOT NULL,
    state TEXT NOT NULL,              -- pending | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    last_attempt_at TEXT
);
"""

_UPSERT_RECEIPT = ("INSERT INTO receipts (receipt_no, escpos, sha256, bytes, state, created_at)"
                   " VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (receipt_no) DO UPDATE SET"
                   " escpos = excluded.escpos, sha256 = excluded.sha256, bytes = excluded.bytes, state = 'pending',"
                   " attempts = 0, last_error = NULL, created_at = excluded.created_at, last_attempt_at = NULL")


class _Borrowed:
    """The outbox's one connection, lent to one thread at a time: `with db:` is a transaction, `close()` gives
    the connection back (it stays open)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        lock.acquire()
        self._conn = conn
        self._lock = lock
        self._held = True

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __enter__(self) -> sqlite3.Connection:
        return self._conn.__enter__()

    def __exit__(self, *exc):
        return self._conn.__exit__(*exc)

    def close(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Outbox:
    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "outbox"
        self.files_dir = self.root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.db_path = self.root / "outbox.db"
        self._sealer = Sealer(load_or_create_key(self.data_dir / "outbox.key"))
        # One connection for the outbox's life, shared by the UI and the drain worker under a lock (WAL lets
        # another process — `kiosk outbox retry` — read and write beside it).
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(self.db_path), timeout=30, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL: every commit is atomic and survives a crash of the program; only enqueue (a citizen's new case)
        # commits with FULL, so it survives a power cut too. Bookkeeping during a drain (attempts, upload URLs,
        # "sent") may roll back on a power cut, which costs a resend the hub answers from its idempotency record.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        db = self._db()
        try:
            with db:
                db.executescript(_SCHEMA)
                cols = {r[1] for r in db.execute("PRAGMA table_info(entries)")}
                if "server_errors" not in cols:  # an outbox made before entries could be set aside
                    db.execute("ALTER TABLE entries ADD COLUMN server_errors INTEGER NOT NULL DEFAULT 0")
                db.execute("CREATE INDEX IF NOT EXISTS ix_entries_state ON entries (state, created_at)")
        finally:
            db.close()
        self._adopt_old_receipts()

    def _db(self) -> "_Borrowed":
        """The shared connection, held by this thread until `.close()` (which only gives it back)."""
        return _Borrowed(self._conn, self._lock)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __del__(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass

    def _update(self, receipt_no: str, table: str = "entries", **values) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        db = self._db()
        try:
            with db:
                db.execute(f"UPDATE {table} SET {cols} WHERE receipt_no = ?", (*values.values(), receipt_no))
        finally:
            db.close()

    def _adopt_old_receipts(self) -> None:
        """Outboxes written before receipt copies had their own table kept them in `entries.receipt`."""
        db = self._db()
        try:
            old = db.execute("SELECT receipt_no, receipt, created_at FROM entries WHERE receipt IS NOT NULL").fetchall()
            with db:
                for row in old:
                    try:
                        plain = self._sealer.open(row["receipt"], row["receipt_no"].encode())
                    except Exception:  # unreadable (another key): leave it where it is
                        continue
                    db.execute("INSERT OR IGNORE INTO receipts (receipt_no, escpos, sha256, bytes, state, created_at)"
                               " VALUES (?, ?, ?, ?, 'pending', ?)", (row["receipt_no"], row["receipt"],
                                                                      hashlib.sha256(plain).hexdigest(), len(plain),
                                                                      row["created_at"]))
                    db.execute("UPDATE entries SET receipt = NULL WHERE receipt_no = ?", (row["receipt_no"],))
        finally:
            db.close()

    def _sealed_receipt(self, receipt_no: str, escpos: bytes) -> tuple:
        """The parameters of `_UPSERT_RECEIPT` for these bytes, after checking them."""
        if not isinstance(escpos, (bytes, bytearray, memoryview)) or not bytes(escpos):
            raise InvalidInput(f"the receipt copy for {receipt_no} is empty", "render the receipt before attaching it")
        escpos = bytes(escpos)
        if len(escpos) > MAX_RECEIPT_BYTES:
            raise InvalidInput(f"the receipt copy for {receipt_no} has {len(escpos)} bytes; the hub keeps at most"
                               f" {MAX_RECEIPT_BYTES}", "print the receipt without a logo or with a smaller one")
        return (receipt_no, self._sealer.seal(escpos, receipt_no.encode()), hashlib.sha256(escpos).hexdigest(),
                len(escpos), _now())

    # -- queueing ----------------------------------------------------------------------------
    def enqueue(self, payload: dict, files: list[str], receipt_escpos: bytes | None = None) -> str:
        """Copy the files in (sealed), store the payload (sealed) and return the receipt number."""
        if not isinstance(payload, dict) or not isinstance(payload.get("receipt_no"), str) or not payload["receipt_no"]:
            raise InvalidInput("the case has no receipt_no", "issue one with next_receipt_no() before queueing")
        receipt_no = payload["receipt_no"]
        materials = list(payload.get("materials") or [])
        if len(materials) > len(files):
            raise InvalidInput(f"{len(materials)} materials declared but {len(files)} files given",
                               "pass one file per material, in the same order")
        entry_dir = self.files_dir / receipt_no
        if entry_dir.exists() or self._row(receipt_no) is not None:
            raise InvalidInput(f"receipt number {receipt_no} is already in the outbox", "issue a new receipt number")
        tmp_dir = self.files_dir / f".{receipt_no}.{uuid.uuid4().hex}"
        stored = []
        try:
            tmp_dir.mkdir(mode=0o700)
            for i, path in enumerate(files):
                try:
                    data = Path(path).read_bytes()
                except OSError as exc:
                    raise InvalidInput(f"cannot read material file {path}: {exc.strerror}", "scan the page again") from None
                name = Path(path).name
                _write_synced(tmp_dir / f"{i}.bin", self._sealer.seal(data, receipt_no.encode()))
                m = dict(materials[i]) if i < len(materials) else {"code": f"M{i + 1:02d}", "name": name, "pages": 1}
                m["sha256"] = hashlib.sha256(data).hexdigest()
                m["bytes"] = len(data)
                m.pop("upload_url", None)
                if i < len(materials):
                    materials[i] = m
                else:
                    materials.append(m)
                stored.append({"name": name, "stored": f"{i}.bin", "sha256": m["sha256"], "bytes": len(data),
                               "upload_url": None, "uploaded": False})
            payload = dict(payload, materials=materials)
            sealed = self._sealer.seal(json.dumps(payload, ensure_ascii=False).encode("utf-8"), receipt_no.encode())
            receipt_row = self._sealed_receipt(receipt_no, receipt_escpos) if receipt_escpos else None
            os.rename(tmp_dir, entry_dir)
            _fsync_dir(self.files_dir)
            db = self._db()
            try:
                db.execute("PRAGMA synchronous=FULL")  # a citizen's case must survive a power cut
                with db:
                    db.execute("INSERT INTO entries (receipt_no, idempotency_key, state, item_code, item_name, payload,"
                               " files, created_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
                               (receipt_no, str(uuid.uuid4()), str(payload.get("item_code") or ""),
                                str(payload.get("item_name") or ""), sealed, json.dumps(stored), _now()))
                    if receipt_row is not None:
                        db.execute(_UPSERT_RECEIPT, receipt_row)
            finally:
                db.execute("PRAGMA synchronous=NORMAL")
                db.close()
        except BaseException as exc:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            if entry_dir.exists() and self._row(receipt_no) is None:
                shutil.rmtree(entry_dir, ignore_errors=True)
            if _disk_full(exc):
                raise DiskFull(f"the kiosk's disk is full: case {receipt_no} could not be queued",
                               "ask staff to free space on the kiosk (kiosk diag shows storage); the citizen's"
                               " data was not kept, so take the application at the counter") from None
            raise
        log.info("case queued in outbox", extra={"receipt_no": receipt_no, "files": len(files)})
        return receipt_no

    def _row(self, receipt_no: str) -> sqlite3.Row | None:
        db = self._db()
        try:
            return db.execute("SELECT * FROM entries WHERE receipt_no = ?", (receipt_no,)).fetchone()
        finally:
            db.close()

    @staticmethod
    def _summary(row: sqlite3.Row) -> dict:
        return {"receipt_no": row["receipt_no"], "state": row["state"], "item_code": row["item_code"],
                "item_name": row["item_name"], "files": len(json.loads(row["files"])), "attempts": row["attempts"],
                "last_error": row["last_error"], "created_at": row["created_at"],
                "last_attempt_at": row["last_attempt_at"], "case_no": row["case_no"],
                "server_errors": row["server_errors"]}

    def pending(self) -> list[dict]:
        """Entries not yet confirmed by the hub (state `pending`, or `failed` if the hub refused them)."""
        db = self._db()
        try:
            rows = db.execute("SELECT * FROM entries WHERE state != 'sent' ORDER BY created_at, rowid").fetchall()
        finally:
            db.close()
        return [self._summary(r) for r in rows]

    def status(self, limit: int | None = 20) -> dict:
        """Counts by state and the oldest entries waiting (at most `limit`; None: all), and the same for receipt
        copies not yet on the hub (`waiting_for_case`: their case has not reached the hub yet). The counts come
        from the state index, so the cost does not grow with what is listed."""
        db = self._db()
        try:
            counts = dict(db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall())
            last = db.execute("SELECT last_error FROM entries WHERE state != 'sent' AND last_error IS NOT NULL"
                              " ORDER BY last_attempt_at DESC LIMIT 1").fetchone()
            n = -1 if limit is None else int(limit)
            rows = db.execute("SELECT * FROM entries WHERE state != 'sent' ORDER BY created_at, rowid LIMIT ?",
                              (n,)).fetchall()
            oldest = db.execute("SELECT MIN(created_at) FROM entries WHERE state = 'pending'").fetchone()[0]
            rcounts = dict(db.execute("SELECT state, COUNT(*) FROM receipts GROUP BY state").fetchall())
            receipts = db.execute(
                "SELECT r.receipt_no, r.state, r.bytes, r.attempts, r.last_error, r.created_at, r.last_attempt_at,"
                " e.state AS case_state FROM receipts r LEFT JOIN entries e ON e.receipt_no = r.receipt_no"
                " ORDER BY r.created_at, r.rowid LIMIT ?", (n,)).fetchall()
        finally:
            db.close()
        entries = [self._summary(r) for r in rows]
        copies = [{"receipt_no": r["receipt_no"], "state": r["state"], "bytes": r["bytes"], "attempts": r["attempts"],
                   "last_error": r["last_error"], "created_at": r["created_at"],
                   "last_attempt_at": r["last_attempt_at"],
                   "waiting_for_case": r["case_state"] is not None and r["case_state"] != "sent"} for r in receipts]
        waiting = sum(v for k, v in counts.items() if k != "sent")
        return {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0), "sent": counts.get("sent", 0),
                "set_aside": counts.get("set_aside", 0),
                "oldest_pending_at": oldest,
                "last_error": last[0] if last else None, "entries": entries, "entries_not_listed": waiting - len(entries),
                "receipts_pending": rcounts.get("pending", 0), "receipts_failed": rcounts.get("failed", 0),
                "receipts": copies}

    def lookup(self, receipt_no: str) -> dict | None:
        row = self._row(receipt_no)
        return self._summary(row) if row is not None else None

    def attach_receipt(self, receipt_no: str, escpos: bytes) -> None:
        """Keep the receipt's ESC/POS bytes (sealed) with the case, for a reprint here and for the hub.

        Works whether the case is still waiting or already delivered (then a receipt-only entry is kept); the
        next `drain` sends the copy once the case is on the hub and deletes it here when the hub confirms.
        Attaching again replaces the copy. Raises `InvalidInput` for empty bytes or more than the hub's cap.
        """
        if not isinstance(receipt_no, str) or not receipt_no:
            raise InvalidInput("the receipt copy has no receipt number", "pass the case's receipt number")
        values = self._sealed_receipt(receipt_no, escpos)
        db = self._db()
        try:
            with db:
                db.execute(_UPSERT_RECEIPT, values)
                case = db.execute("SELECT state FROM entries WHERE receipt_no = ?", (receipt_no,)).fetchone()
        finally:
            db.close()
        log.info("receipt copy kept in outbox", extra={"receipt_no": receipt_no, "bytes": values[3],
                                                       "case_state": case["state"] if case else "delivered"})

    def receipt(self, receipt_no: str) -> bytes | None:
        """The receipt's ESC/POS bytes kept here (for a reprint), until the hub confirms its copy."""
        db = self._db()
        try:
            row = db.execute("SELECT escpos FROM receipts WHERE receipt_no = ?", (receipt_no,)).fetchone()
            if row is None:  # an entry written before receipt copies had their own table
                row = db.execute("SELECT receipt AS escpos FROM entries WHERE receipt_no = ? AND receipt IS NOT NULL",
                                 (receipt_no,)).fetchone()
        finally:
            db.close()
        if row is None:
            return None
        return self._sealer.open(row["escpos"], receipt_no.encode())

    def retry_failed(self) -> int:
        """Put refused entries and receipt copies back in the queue (after the installer fixed the cause)."""
        db = self._db()
        try:
            with db:
                n = db.execute("UPDATE entries SET state = 'pending', server_errors = 0"
                               " WHERE state IN ('failed', 'set_aside')").rowcount
                return n + db.execute("UPDATE receipts SET state = 'pending' WHERE state = 'failed'").rowcount
        finally:
            db.close()

    # -- draining ----------------------------------------------------------------------------
    def drain(self, client: HubClient, should_stop: Callable[[], bool] | None = None) -> dict:
        """Upload files, submit with the entry's idempotency key, delete local copies once the hub confirms;
        then send the receipt copies whose case is on the hub (`receipts_sent`, `receipts_failed`,
        `receipts_pending` count them; `sent_receipts` lists the receipt numbers of the cases sent).

        Stops at the first sign the hub is unreachable (the rest waits for the next drain).
        """
        result = {"sent": 0, "failed": 0, "pending": 0, "set_aside": 0, "sent_receipts": [], "error": None, "busy": False,
                  "receipts_sent": 0, "receipts_failed": 0, "receipts_pending": 0}
        lock = open(self.root / "drain.lock", "a+")
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                result["busy"] = True
                st = self.status(limit=0)
                result["pending"], result["receipts_pending"] = st["pending"], st["receipts_pending"]
                return result
            db = self._db()
            try:
                todo = [r["receipt_no"] for r in db.execute(
                    "SELECT receipt_no FROM entries WHERE state = 'pending' ORDER BY created_at, rowid")]
            finally:
                db.close()
            reachable = True
            suspects: list[tuple[str, str]] = []  # entries the hub answered with a 5xx in this drain
            streak = 0  # 5xx answers in a row
            for receipt_no in todo:
                if should_stop is not None and should_stop():
                    reachable = False
                    break
                try:
                    outcome = self._send_one(client, receipt_no)
                except HubBusy as exc:  # an earlier try of it is still at the hub: not this entry's fault
                    self._update(receipt_no, last_error=exc.message)
                    continue
                except HubServerError as exc:
                    # One entry may trip the hub while the rest go through: note it and carry on, unless the
                    # hub fails everything (then the rest waits, as for an unreachable hub).
                    self._update(receipt_no, last_error=exc.message)
                    suspects.append((receipt_no, exc.message))
                    streak += 1
                    if streak >= 2 and not client.health():
                        result["error"] = exc.message
                        reachable = False
                        break
                    continue
                except UploadGone as exc:  # the hub lost or cannot read an upload: send the files again
                    self._reset_uploads(receipt_no, exc.message)
                    continue
                except Unavailable as exc:
                    result["error"] = exc.message
                    self._update(receipt_no, last_error=exc.message)
                    reachable = False
                    break
                except HubRejected as exc:
                    if exc.status == 401:  # a configuration problem: every entry would fail the same way
                        result["error"] = exc.message
                        self._update(receipt_no, last_error=f"{exc.message}; {exc.action}")
                        reachable = False
                        break
                    self._update(receipt_no, state="failed", last_error=exc.message)
                    result["failed"] += 1
                    log.warning("hub refused outbox entry", extra={"receipt_no": receipt_no, "error": exc.message})
                    continue
                except KioskError as exc:
                    self._update(receipt_no, state="failed", last_error=exc.message)
                    result["failed"] += 1
                    continue
                except Exception as exc:  # a damaged entry (unreadable file, wrong key) must not block the rest
                    log.exception("outbox entry unusable", extra={"receipt_no": receipt_no})
                    self._update(receipt_no, state="failed", last_error=f"entry unusable: {type(exc).__name__}")
                    result["failed"] += 1
                    continue
                streak = 0
                result["sent"] += 1
                result["sent_receipts"].append(receipt_no)
                log.info("outbox entry confirmed by hub", extra={"receipt_no": receipt_no, "status": outcome.get("status")})
            if suspects:
                self._count_server_errors(client, suspects, result)
            if reachable:
                self._push_receipts(client, result, should_stop)
            self._prune_sent()
            st = self.status(limit=0)
            result["pending"], result["receipts_pending"] = st["pending"], st["receipts_pending"]
            return result
        finally:
            lock.close()

    def _count_server_errors(self, client: HubClient, suspects: list[tuple[str, str]], result: dict) -> None:
        """Count a 5xx against an entry only while the hub demonstrably works (it accepted another entry in this
        drain, or says it is healthy); after SET_ASIDE_AFTER such errors the entry is set aside with its reason,
        so it stops costing a request per drain, and staff see it in `kiosk outbox status`."""
        if not (result["sent"] or client.health()):
            return  # the hub itself is in trouble: nobody's fault, nothing set aside
        db = self._db()
        try:
            with db:
                for receipt_no, message in suspects:
                    row = db.execute("SELECT server_errors FROM entries WHERE receipt_no = ?", (receipt_no,)).fetchone()
                    n = (row["server_errors"] if row else 0) + 1
                    if n >= SET_ASIDE_AFTER:
                        db.execute("UPDATE entries SET state = 'set_aside', server_errors = ?, last_error = ?"
                                   " WHERE receipt_no = ?",
                                   (n, f"set aside after {n} server errors while the hub took other cases: {message}",
                                    receipt_no))
                        result["set_aside"] += 1
                        log.warning("outbox entry set aside", extra={"receipt_no": receipt_no, "error": message})
                    else:
                        db.execute("UPDATE entries SET server_errors = ? WHERE receipt_no = ?", (n, receipt_no))
        finally:
            db.close()

    def _reset_uploads(self, receipt_no: str, message: str) -> None:
        row = self._row(receipt_no)
        files = json.loads(row["files"])
        for f in files:
            f.update(upload_url=None, uploaded=False)
        self._update(receipt_no, files=json.dumps(files), last_error=message)
        log.warning("hub lost an upload; the files go again on the next drain", extra={"receipt_no": receipt_no})

    def _push_receipts(self, client: HubClient, result: dict, should_stop: Callable[[], bool] | None) -> None:
        """Send the receipt copies whose case the hub has (no entry left, or the entry is sent)."""
        db = self._db()
        try:
            todo = db.execute("SELECT r.receipt_no, r.escpos, r.sha256, r.attempts FROM receipts r"
                              " LEFT JOIN entries e ON e.receipt_no = r.receipt_no"
                              " WHERE r.state = 'pending' AND (e.receipt_no IS NULL OR e.state = 'sent')"
                              " ORDER BY r.created_at, r.rowid").fetchall()
        finally:
            db.close()
        for row in todo:
            if should_stop is not None and should_stop():
                return
            receipt_no = row["receipt_no"]
            self._update(receipt_no, "receipts", attempts=row["attempts"] + 1, last_attempt_at=_now())
            try:
                escpos = self._sealer.open(row["escpos"], receipt_no.encode())
                client.put_receipt(receipt_no, escpos)
            except Unavailable as exc:
                result["error"] = exc.message
                self._update(receipt_no, "receipts", last_error=exc.message)
                return
            except HubRejected as exc:
                if exc.status == 401:
                    result["error"] = exc.message
                    self._update(receipt_no, "receipts", last_error=f"{exc.message}; {exc.action}")
                    return
                # 404 (the hub lost or never had the case), 403 (another device's case), 413: retrying won't help
                self._update(receipt_no, "receipts", state="failed", last_error=exc.message)
                result["receipts_failed"] += 1
                log.warning("hub refused receipt copy", extra={"receipt_no": receipt_no, "error": exc.message})
                continue
            except Exception as exc:  # a damaged copy (wrong key) must not block the rest
                log.exception("receipt copy unusable", extra={"receipt_no": receipt_no})
                self._update(receipt_no, "receipts", state="failed", last_error=f"copy unusable: {type(exc).__name__}")
                result["receipts_failed"] += 1
                continue
            db = self._db()
            try:
                with db:  # a newer copy attached meanwhile stays, and goes on the next drain
                    db.execute("DELETE FROM receipts WHERE receipt_no = ? AND sha256 = ?", (receipt_no, row["sha256"]))
            finally:
                db.close()
            result["receipts_sent"] += 1
            log.info("receipt copy confirmed by hub", extra={"receipt_no": receipt_no})

    def _send_one(self, client: HubClient, receipt_no: str) -> dict:
        row = self._row(receipt_no)
        self._update(receipt_no, attempts=row["attempts"] + 1, last_attempt_at=_now())
        aad = receipt_no.encode()
        payload = json.loads(self._sealer.open(row["payload"], aad))
        files = json.loads(row["files"])
        entry_dir = self.files_dir / receipt_no
        for i, f in enumerate(files):
            if f["uploaded"]:
                continue
            data = self._sealer.open((entry_dir / f["stored"]).read_bytes(), aad)

            def remember(url: str, i: int = i) -> None:
                files[i]["upload_url"] = url
                self._update(receipt_no, files=json.dumps(files))

            meta = {"filename": f["name"], "receipt_no": receipt_no}
            try:
                url = client.upload_material("", meta, resume_url=f["upload_url"], file_stream=io.BytesIO(data),
                                             on_created=remember)
            except UploadGone:
                files[i]["upload_url"] = None
                url = client.upload_material("", meta, file_stream=io.BytesIO(data), on_created=remember)
            files[i].update(upload_url=url, uploaded=True)
            if len(files) > 1:  # with one file the next write is the final one; a crash before it resumes by URL
                self._update(receipt_no, files=json.dumps(files))
        for i, f in enumerate(files):
            payload["materials"][i]["upload_url"] = f["upload_url"]
        answer = client.submit_case(payload, row["idempotency_key"])
        # Confirmed: the hub holds the case. Local personal data goes now (DESIGN §6).
        self._update(receipt_no, state="sent", payload=None, receipt=None, files="[]", last_error=None,
                     case_no=answer.get("case_no"), hub_status=answer.get("status"), sent_at=_now())
        shutil.rmtree(entry_dir, ignore_errors=True)
        return answer

    def _prune_sent(self) -> None:
        cutoff = (dt.datetime.now(dt.timezone.utc) - SENT_RETENTION).isoformat(timespec="seconds")
        db = self._db()
        try:
            with db:
                db.execute("DELETE FROM entries WHERE state = 'sent' AND sent_at < ?", (cutoff,))
        finally:
            db.close()


class OutboxWorker(DrainWorker):
    """Drains the outbox (cases, then their receipt copies) every `interval_s` seconds; `wake()` drains now."""

    thread_name = "outbox-worker"

    def has_work(self) -> bool:
        st = self.outbox.status(limit=0)
        return bool(st["pending"] or st["receipts_pending"])
