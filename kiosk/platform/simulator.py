"""The provincial platform simulator: the reference protocol (docs/platform-protocol.md) served for real.

Persistent (one SQLite file), signed requests only (bad signature, stale timestamp or replayed nonce → 401),
办件编号 assigned as `<6-digit area code><yyyymmdd><6-digit daily sequence>`, materials stored with their
SHA-256, and fault injection (a share of requests answered 503, added latency) settable at start or at run
time through `POST /sim/faults`. `GET /sim/...` endpoints are for tests and demos and are not signed.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import random
import sqlite3
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from kiosk.platform import signing
from kiosk.form_fields import missing_required
from kiosk.platform.catalog_data import SERVICES
from kiosk.privacy.masking import mask_document_number, mask_mapping, mask_name

log = logging.getLogger("kiosk.platform.sim")

CHINA_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_AREA_CODE = "610113"  # GB/T 2260: 陕西省西安市雁塔区
DEFAULT_APPS = {"govkiosk-demo": "demo-secret-change-me"}
CASE_STATUSES = ("draft", "accepted", "in_progress", "completed", "rejected")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_no TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    client_ref TEXT NOT NULL,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    channel TEXT NOT NULL,
    applicant_json TEXT NOT NULL,
    form_json TEXT NOT NULL DEFAULT '{}',
    delivery TEXT,
    delivery_address TEXT,
    status TEXT NOT NULL,
    promised_by TEXT,
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    UNIQUE (app_id, client_ref)
);
CREATE TABLE IF NOT EXISTS materials (
    case_no TEXT NOT NULL REFERENCES cases(case_no),
    stuff_id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    pages INTEGER NOT NULL,
    declared_sha256 TEXT NOT NULL,
    declared_bytes INTEGER NOT NULL,
    sha256 TEXT,
    size INTEGER,
    filename TEXT,
    content BLOB,
    received_at TEXT,
    PRIMARY KEY (case_no, stuff_id),
    UNIQUE (case_no, code)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no TEXT NOT NULL,
    level INTEGER NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bundle_cases (
    case_no TEXT PRIMARY KEY REFERENCES cases(case_no),
    bundle_code TEXT NOT NULL,
    answers_json TEXT NOT NULL,
    items_json TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS supplements (
    case_no TEXT NOT NULL REFERENCES cases(case_no),
    supplement_ref TEXT NOT NULL,
    posts INTEGER NOT NULL DEFAULT 1,
    received_at TEXT NOT NULL,
    PRIMARY KEY (case_no, supplement_ref)
);
CREATE TABLE IF NOT EXISTS supplement_files (
    case_no TEXT NOT NULL,
    supplement_ref TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    pages INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    filename TEXT,
    content BLOB NOT NULL,
    PRIMARY KEY (case_no, supplement_ref, code)
);
CREATE TABLE IF NOT EXISTS nonces (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE TABLE IF NOT EXISTS day_sequence (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _now_iso() -> str:
    return dt.datetime.now(CHINA_TZ).isoformat(timespec="seconds")


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Promised date: `days` working days (Monday to Friday) after `start`; holidays are not modelled."""
    d = start
    left = days
    while left > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d


class SimStore:
    """The simulator's SQLite file; one connection guarded by a lock (the simulator is not a throughput target)."""

    def __init__(self, db_path: str | Path, area_code: str = DEFAULT_AREA_CODE) -> None:
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.area_code = area_code
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: each commit survives a crash of the simulator (WAL), without an fsync per request, which made
        # the simulator — not the relay it measures — the bottleneck of a benchmark.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        self._nonces_pruned = 0.0
        # Evaluations keep the whole upload (channel, detail codes, 代理人 fields) beside the level and text.
        if "detail_json" not in {r["name"] for r in self.db.execute("PRAGMA table_info(evaluations)")}:
            self.db.execute("ALTER TABLE evaluations ADD COLUMN detail_json TEXT NOT NULL DEFAULT '{}'")
        self.catalog = {s["item_code"]: s for s in SERVICES}

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def tx(self):
        store = self

        class _Tx:
            def __enter__(self_inner):
                store.lock.acquire()
                store.db.execute("BEGIN IMMEDIATE")
                return store.db

            def __exit__(self_inner, exc_type, exc, tb):
                try:
                    store.db.execute("ROLLBACK" if exc_type else "COMMIT")
                finally:
                    store.lock.release()
                return False

        return _Tx()

    # -- nonces ----------------------------------------------------------------------------
    def remember_nonce(self, app_id: str, nonce: str) -> bool:
        """False if this nonce was already used by this app within the replay window."""
        now = time.time()
        with self.tx() as db:
            if now - self._nonces_pruned > 1.0:  # at most once a second: the window is minutes long
                self._nonces_pruned = now
                db.execute("DELETE FROM nonces WHERE seen_at < ?", (now - 2 * signing.MAX_SKEW_S,))
            try:
                db.execute("INSERT INTO nonces (app_id, nonce, seen_at) VALUES (?, ?, ?)", (app_id, nonce, now))
            except sqlite3.IntegrityError:
                return False
        return True

    # -- cases -----------------------------------------------------------------------------
    def _next_case_no(self, db: sqlite3.Connection) -> str:
        day = dt.datetime.now(CHINA_TZ).strftime("%Y%m%d")
        row = db.execute("SELECT last FROM day_sequence WHERE day = ?", (day,)).fetchone()
        last = (row["last"] if row else 0) + 1
        db.execute("INSERT INTO day_sequence (day, last) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET last = excluded.last",
                   (day, last))
        return f"{self.area_code}{day}{last:06d}"

    def confirm(self, app_id: str, body: dict) -> tuple[dict, bool]:
        client_ref = _required_str(body, "client_ref")
        item_code = _required_str(body, "item_code")
        applicant = body.get("applicant")
        if not isinstance(applicant, dict) or not applicant.get("name") or not applicant.get("id_number"):
            raise ApiError(422, "applicant", "applicant.name and applicant.id_number are required")
        item = self.catalog.get(item_code)
        if item is None:
            raise ApiError(404, "item_code", f"unknown item code {item_code!r}")
        with self.tx() as db:
            row = db.execute("SELECT case_no, status FROM cases WHERE app_id = ? AND client_ref = ?",
                             (app_id, client_ref)).fetchone()
            if row is not None:
                return {"case_no": row["case_no"], "status": row["status"]}, False
            case_no = self._next_case_no(db)
            db.execute(
                "INSERT INTO cases (case_no, app_id, client_ref, item_code, item_name, channel, applicant_json, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?)",
                (case_no, app_id, client_ref, item_code, item["name"], str(body.get("channel") or "kiosk"),
                 json.dumps(applicant, ensure_ascii=False), _now_iso()))
            db.execute("INSERT INTO events (case_no, at, status, note) VALUES (?, ?, 'draft', '办件编号已分配')", (case_no, _now_iso()))
        return {"case_no": case_no, "status": "draft"}, True

    def _case(self, db: sqlite3.Connection, app_id: str | None, case_no: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
        if row is None or (app_id is not None and row["app_id"] != app_id):
            raise ApiError(404, "case_no", f"no case {case_no!r}")
        return row

    def declare_materials(self, app_id: str, case_no: str, body: dict) -> dict:
        items = body.get("materials")
        if not isinstance(items, list):
            raise ApiError(422, "materials", "materials must be a list")
        out = []
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            if case["status"] != "draft":
                raise ApiError(409, "status", f"case {case_no} is already {case['status']}; materials are closed")
            for m in items:
                if not isinstance(m, dict):
                    raise ApiError(422, "materials", "each material must be an object")
                code = _required_str(m, "code")
                sha = _required_str(m, "sha256").lower()
                if len(sha) != 64:
                    raise ApiError(422, "sha256", f"material {code}: sha256 must be 64 hex digits")
                row = db.execute("SELECT stuff_id FROM materials WHERE case_no = ? AND code = ?", (case_no, code)).fetchone()
                stuff_id = row["stuff_id"] if row else f"ST{hashlib.sha256((case_no + code).encode()).hexdigest()[:10].upper()}"
                db.execute(
                    "INSERT INTO materials (case_no, stuff_id, code, name, pages, declared_sha256, declared_bytes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(case_no, stuff_id) DO UPDATE SET"
                    " name = excluded.name, pages = excluded.pages, declared_sha256 = excluded.declared_sha256,"
                    " declared_bytes = excluded.declared_bytes",
                    (case_no, stuff_id, code, str(m.get("name") or code), int(m.get("pages") or 1), sha, int(m.get("bytes") or 0)))
                out.append({"code": code, "stuff_id": stuff_id})
        return {"case_no": case_no, "materials": out}

    def attach(self, app_id: str, case_no: str, stuff_id: str, content: bytes, sha256: str, filename: str) -> dict:
        actual = hashlib.sha256(content).hexdigest()
        if sha256 and sha256.lower() != actual:
            raise ApiError(422, "sha256", f"attachment sha256 {actual} does not match the sha256 field")
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            if case["status"] != "draft":
                raise ApiError(409, "status", f"case {case_no} is already {case['status']}; materials are closed")
            row = db.execute("SELECT * FROM materials WHERE case_no = ? AND stuff_id = ?", (case_no, stuff_id)).fetchone()
            if row is None:
                raise ApiError(404, "stuff_id", f"material {stuff_id} was not declared for case {case_no}")
            if row["declared_sha256"] != actual:
                raise ApiError(422, "sha256", f"attachment sha256 {actual} differs from the declared {row['declared_sha256']}")
            db.execute("UPDATE materials SET sha256 = ?, size = ?, filename = ?, content = ?, received_at = ?"
                       " WHERE case_no = ? AND stuff_id = ?",
                       (actual, len(content), filename, content, _now_iso(), case_no, stuff_id))
        return {"case_no": case_no, "stuff_id": stuff_id, "sha256": actual, "bytes": len(content)}

    def set_delivery(self, app_id: str, case_no: str, body: dict) -> dict:
        delivery = _required_str(body, "delivery")
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            options = self.catalog[case["item_code"]]["delivery"]
            if delivery not in options:
                raise ApiError(422, "delivery", f"{delivery!r} is not offered for this item; choose one of {options}")
            if delivery == "邮寄" and not body.get("address"):
                raise ApiError(422, "address", "邮寄 needs a delivery address")
            if case["status"] != "draft":
                raise ApiError(409, "status", f"case {case_no} is already {case['status']}")
            db.execute("UPDATE cases SET delivery = ?, delivery_address = ? WHERE case_no = ?",
                       (delivery, body.get("address") or None, case_no))
        return {"case_no": case_no, "delivery": delivery}

    def submit(self, app_id: str, case_no: str, body: dict) -> dict:
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            if case["status"] != "draft":
                return {"case_no": case_no, "status": case["status"], "promised_by": case["promised_by"]}
            if not case["delivery"]:
                raise ApiError(409, "delivery", "choose a delivery method (step 4) before submitting")
            missing = [r["code"] for r in db.execute(
                "SELECT code FROM materials WHERE case_no = ? AND content IS NULL ORDER BY code", (case_no,))]
            if missing:
                raise ApiError(409, "materials", f"materials without an attachment: {', '.join(missing)}")
            item = self.catalog[case["item_code"]]
            form = body.get("form") if isinstance(body.get("form"), dict) else {}
            fields = item.get("form_fields") or []
            if item.get("kind") == "bundle":
                fields = self._record_bundle(db, case_no, item, form)
            lacking = missing_required(fields, form)
            if lacking:
                raise ApiError(422, "form", f"required form fields are missing: {', '.join(lacking)}")
            promised = add_working_days(dt.datetime.now(CHINA_TZ).date(), int(item["promised_days"])).isoformat()
            db.execute("UPDATE cases SET status = 'accepted', promised_by = ?, form_json = ?, submitted_at = ? WHERE case_no = ?",
                       (promised, json.dumps(form, ensure_ascii=False), str(body.get("submitted_at") or _now_iso()), case_no))
            db.execute("INSERT INTO events (case_no, at, status, note) VALUES (?, ?, 'accepted', '已受理')", (case_no, _now_iso()))
        return {"case_no": case_no, "status": "accepted", "promised_by": promised}

    def _record_bundle(self, db: sqlite3.Connection, case_no: str, bundle: dict, form: dict) -> list[dict]:
        """A 一件事 submission: the answers must fit the questionnaire and name the items it decides; the case is
        recorded as one bundle of those items. Returns the combined form fields to check."""
        from kiosk.bundles import BundleError, plan

        doc = form.get("_bundle")
        if not isinstance(doc, dict) or not isinstance(doc.get("answers"), dict):
            raise ApiError(422, "bundle", "a 一件事 case needs form._bundle with the questionnaire's answers")
        try:
            p = plan(bundle, {str(k): str(v) for k, v in doc["answers"].items()}, self.catalog)
        except BundleError as exc:
            raise ApiError(422, "bundle", str(exc)) from None
        if doc.get("items") is not None and list(doc["items"]) != p["item_codes"]:
            raise ApiError(422, "bundle", "the items do not match what the answers decide")
        db.execute("INSERT OR REPLACE INTO bundle_cases (case_no, bundle_code, answers_json, items_json, recorded_at)"
                   " VALUES (?, ?, ?, ?, ?)", (case_no, bundle["item_code"], json.dumps(doc["answers"], ensure_ascii=False),
                                              json.dumps(p["item_codes"]), _now_iso()))
        return p["form_fields"]

    def status(self, app_id: str | None, case_no: str) -> dict:
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            events = [dict(r) for r in db.execute("SELECT at, status, note FROM events WHERE case_no = ? ORDER BY id", (case_no,))]
        return {"case_no": case_no, "status": case["status"], "item_code": case["item_code"],
                "promised_by": case["promised_by"], "history": events}

    def advance(self, case_no: str, status: str, note: str = "") -> dict:
        if status not in CASE_STATUSES:
            raise ApiError(422, "status", f"status must be one of {CASE_STATUSES}")
        with self.tx() as db:
            self._case(db, None, case_no)
            db.execute("UPDATE cases SET status = ? WHERE case_no = ?", (status, case_no))
            db.execute("INSERT INTO events (case_no, at, status, note) VALUES (?, ?, ?, ?)", (case_no, _now_iso(), status, note))
        return self.status(None, case_no)

    def evaluate(self, app_id: str, body: dict) -> dict:
        case_no = _required_str(body, "case_no")
        level = body.get("level")
        if not isinstance(level, int) or not 1 <= level <= 5:
            raise ApiError(422, "level", "level must be 1-5 (5 = 非常满意)")
        if level < 3 and not body.get("text"):
            raise ApiError(422, "text", "a 差评 (level below 3) needs a reason")
        with self.tx() as db:
            self._case(db, app_id, case_no)
            count = db.execute("SELECT COUNT(*) FROM evaluations WHERE case_no = ?", (case_no,)).fetchone()[0]
            if count >= 2:
                raise ApiError(409, "duplicate", "this case already has its evaluation and one follow-up")
            detail = {k: body[k] for k in ("detail_codes", "assess_number", "evaluator_id_hash", "handle_user_name",
                                           "handle_user_page_type", "handle_user_page_code", "proxied") if k in body}
            cur = db.execute("INSERT INTO evaluations (case_no, level, text, channel, created_at, detail_json)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             (case_no, level, str(body.get("text") or ""), str(body.get("channel") or "5"), _now_iso(),
                              json.dumps(detail, ensure_ascii=False)))
        return {"evaluation_id": cur.lastrowid, "case_no": case_no, "assess_number": count + 1}

    def supplement(self, app_id: str, case_no: str, ref: str, manifest: list, files: list[tuple[str, bytes]]) -> tuple[dict, bool]:
        """补充材料 for a case after it was submitted, keyed by the sender's `ref`: a second call with the same ref
        and the same files is answered with the first one's record (nothing stored twice)."""
        if not isinstance(manifest, list) or not manifest or len(manifest) != len(files):
            raise ApiError(422, "manifest", "manifest must list one entry (code, name, pages, sha256) per file")
        entries = []
        for m, (filename, content) in zip(manifest, files):
            if not isinstance(m, dict):
                raise ApiError(422, "manifest", "each manifest entry must be an object")
            code = _required_str(m, "code")
            actual = hashlib.sha256(content).hexdigest()
            if _required_str(m, "sha256").lower() != actual:
                raise ApiError(422, "sha256", f"supplement {code}: file sha256 {actual} differs from the manifest")
            entries.append((code, str(m.get("name") or code), int(m.get("pages") or 1), actual, content, filename))
        if len({e[0] for e in entries}) != len(entries):
            raise ApiError(422, "manifest", "material codes must be unique within a supplement")
        with self.tx() as db:
            case = self._case(db, app_id, case_no)
            if case["status"] == "draft":
                raise ApiError(409, "status", f"case {case_no} is not submitted yet; declare its materials instead")
            old = db.execute("SELECT posts FROM supplements WHERE case_no = ? AND supplement_ref = ?",
                             (case_no, ref)).fetchone()
            if old is not None:
                stored = {r["code"]: r["sha256"] for r in db.execute(
                    "SELECT code, sha256 FROM supplement_files WHERE case_no = ? AND supplement_ref = ?", (case_no, ref))}
                if stored != {e[0]: e[3] for e in entries}:
                    raise ApiError(409, "supplement_ref", f"supplement {ref} was already received with other files")
                db.execute("UPDATE supplements SET posts = posts + 1 WHERE case_no = ? AND supplement_ref = ?",
                           (case_no, ref))
                created = False
            else:
                db.execute("INSERT INTO supplements (case_no, supplement_ref, received_at) VALUES (?, ?, ?)",
                           (case_no, ref, _now_iso()))
                db.executemany(
                    "INSERT INTO supplement_files (case_no, supplement_ref, code, name, pages, sha256, size, filename,"
                    " content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(case_no, ref, code, name, pages, sha, len(content), filename, content)
                     for code, name, pages, sha, content, filename in entries])
                db.execute("INSERT INTO events (case_no, at, status, note) VALUES (?, ?, ?, ?)",
                           (case_no, _now_iso(), case["status"], f"补充材料已接收（{ref}）"))
                created = True
        return {"case_no": case_no, "supplement_ref": ref,
                "materials": [{"code": e[0], "sha256": e[3], "bytes": len(e[4])} for e in entries]}, created

    def supplements_of(self, db: sqlite3.Connection, case_no: str) -> list[dict]:
        out = []
        for sup in db.execute("SELECT supplement_ref, posts, received_at FROM supplements WHERE case_no = ?"
                              " ORDER BY received_at, supplement_ref", (case_no,)):
            files = [dict(r) for r in db.execute(
                "SELECT code, name, pages, sha256, size, filename FROM supplement_files"
                " WHERE case_no = ? AND supplement_ref = ? ORDER BY code", (case_no, sup["supplement_ref"]))]
            out.append({"supplement_ref": sup["supplement_ref"], "posts": sup["posts"],
                        "received_at": sup["received_at"], "materials": files})
        return out

    def inspect(self, case_no: str) -> dict:
        with self.tx() as db:
            case = self._case(db, None, case_no)
            mats = [dict(r) for r in db.execute(
                "SELECT stuff_id, code, name, pages, declared_sha256, sha256, size, filename, received_at"
                " FROM materials WHERE case_no = ? ORDER BY code", (case_no,))]
        doc = {k: case[k] for k in case.keys() if k not in ("applicant_json", "form_json")}
        doc["applicant"] = mask_mapping(json.loads(case["applicant_json"]))
        doc["form"] = json.loads(case["form_json"])
        doc["materials"] = mats
        with self.tx() as db:
            bundle = db.execute("SELECT * FROM bundle_cases WHERE case_no = ?", (case_no,)).fetchone()
            evaluations = [dict(r) for r in db.execute(
                "SELECT level, text, channel, created_at, detail_json FROM evaluations WHERE case_no = ? ORDER BY id",
                (case_no,))]
            doc["supplements"] = self.supplements_of(db, case_no)
        if bundle is not None:
            doc["bundle"] = {"code": bundle["bundle_code"], "answers": json.loads(bundle["answers_json"]),
                             "items": json.loads(bundle["items_json"]), "recorded_at": bundle["recorded_at"]}
        for e in evaluations:
            detail = json.loads(e.pop("detail_json") or "{}")
            if detail.get("handle_user_name"):
                detail["handle_user_name"] = mask_name(detail["handle_user_name"])
            if detail.get("handle_user_page_code"):
                detail["handle_user_page_code"] = mask_document_number(detail["handle_user_page_code"])
            e["detail"] = detail
        doc["evaluations"] = evaluations
        return doc

    def count(self) -> dict:
        with self.lock:
            total, submitted = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(status != 'draft'), 0) FROM cases").fetchone()
        return {"cases": total, "submitted": submitted}

    def find(self, client_ref: str | None) -> list[dict]:
        with self.tx() as db:
            if client_ref:
                rows = db.execute("SELECT case_no, client_ref, status FROM cases WHERE client_ref = ?", (client_ref,)).fetchall()
            else:
                rows = db.execute("SELECT case_no, client_ref, status FROM cases ORDER BY case_no").fetchall()
        return [dict(r) for r in rows]


def _required_str(body: dict, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, key, f"{key} is required (a non-empty string)")
    return value.strip()


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "json", "the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ApiError(400, "json", "the body must be a JSON object")
    return doc


def create_app(db_path: str | Path, fail_rate: float = 0.0, latency_ms: int = 0,
               apps: dict[str, str] | None = None, area_code: str = DEFAULT_AREA_CODE) -> FastAPI:
    """The simulator as an ASGI app. `apps` maps app id → shared secret (default: the demo config's pair)."""
    if not 0.0 <= fail_rate <= 1.0:
        raise ValueError("fail_rate must be between 0 and 1")
    store = SimStore(db_path, area_code)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        store.close()

    app = FastAPI(title="Provincial platform simulator", version="1.0", lifespan=lifespan)
    app.state.store = store
    app.state.faults = {"fail_rate": float(fail_rate), "latency_ms": int(latency_ms)}
    app.state.apps = dict(apps or DEFAULT_APPS)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, "message": exc.message}, status_code=exc.status)

    # Fault injection as a plain ASGI middleware: Starlette's @app.middleware("http") streams every response
    # through a task group and took close to half the simulator's time under a relay's load.
    async def _faults(scope, receive, send, inner):
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            faults = app.state.faults
            if faults["latency_ms"] > 0:
                await asyncio.sleep(faults["latency_ms"] / 1000.0)
            if faults["fail_rate"] > 0 and random.random() < faults["fail_rate"]:
                refusal = JSONResponse({"error": "unavailable",
                                        "message": "platform temporarily unavailable (injected fault)"},
                                       status_code=503, headers={"Retry-After": "1"})
                return await refusal(scope, receive, send)
        return await inner(scope, receive, send)

    class _FaultInjection:
        def __init__(self, inner) -> None:
            self.inner = inner

        async def __call__(self, scope, receive, send):
            await _faults(scope, receive, send, self.inner)

    app.add_middleware(_FaultInjection)

    async def signed(request: Request) -> str:
        body = await request.body()
        try:
            app_id, nonce, _ = signing.verify(request.method, request.url.path, request.url.query, body,
                                              request.headers, app.state.apps)
        except signing.SignatureRejected as exc:
            log.warning("signature rejected", extra={"path": request.url.path, "reason": str(exc)})
            raise ApiError(401, "signature", str(exc)) from None
        if not store.remember_nonce(app_id, nonce):
            raise ApiError(401, "signature", "replayed nonce (each request needs a fresh X-Nonce)")
        return app_id

    @app.get("/healthz")
    async def healthz():
        return {"ok": True, "service": "platform-simulator"}

    @app.get("/api/v1/catalog")
    async def catalog(app_id: str = Depends(signed)):
        return {"items": SERVICES}

    @app.post("/api/v1/applications")
    async def confirm(request: Request, app_id: str = Depends(signed)):
        doc, created = store.confirm(app_id, await _json_body(request))
        return JSONResponse(doc, status_code=201 if created else 200)

    @app.put("/api/v1/applications/{case_no}/materials")
    async def declare(case_no: str, request: Request, app_id: str = Depends(signed)):
        return store.declare_materials(app_id, case_no, await _json_body(request))

    @app.post("/api/v1/applications/{case_no}/materials/{stuff_id}/attachment")
    async def attach(case_no: str, stuff_id: str, request: Request, app_id: str = Depends(signed)):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "file", "multipart field 'file' is required")
        content = await upload.read()
        return store.attach(app_id, case_no, stuff_id, content, str(form.get("sha256") or ""), upload.filename or "material")

    @app.put("/api/v1/applications/{case_no}/delivery")
    async def delivery(case_no: str, request: Request, app_id: str = Depends(signed)):
        return store.set_delivery(app_id, case_no, await _json_body(request))

    @app.post("/api/v1/applications/{case_no}/submit")
    async def submit(case_no: str, request: Request, app_id: str = Depends(signed)):
        return store.submit(app_id, case_no, await _json_body(request))

    @app.post("/api/v1/applications/{case_no}/supplements")
    async def supplements(case_no: str, request: Request, app_id: str = Depends(signed)):
        form = await request.form()
        ref = str(form.get("supplement_ref") or "").strip()
        if not ref or len(ref) > 64:
            raise ApiError(422, "supplement_ref", "supplement_ref is required (at most 64 characters)")
        try:
            manifest = json.loads(str(form.get("manifest") or ""))
        except ValueError:
            raise ApiError(422, "manifest", "manifest must be a JSON list") from None
        files = []
        for upload in form.getlist("file"):
            if isinstance(upload, str):
                raise ApiError(422, "file", "multipart field 'file' must carry files")
            files.append((upload.filename or "supplement", await upload.read()))
        doc, created = store.supplement(app_id, case_no, ref, manifest, files)
        return JSONResponse(doc, status_code=201 if created else 200)

    @app.get("/api/v1/applications/{case_no}")
    async def status(case_no: str, app_id: str = Depends(signed)):
        return store.status(app_id, case_no)

    @app.post("/api/v1/evaluations")
    async def evaluate(request: Request, app_id: str = Depends(signed)):
        return JSONResponse(store.evaluate(app_id, await _json_body(request)), status_code=201)

    # -- inspection and control, for tests and demos (unsigned; bind to loopback) ----------
    @app.get("/sim/cases")
    async def sim_find(client_ref: str | None = None):
        return {"cases": store.find(client_ref)}

    @app.get("/sim/count")
    def sim_count():
        """How many cases exist and how many were submitted (accepted or later): a cheap progress check."""
        return store.count()

    @app.get("/sim/cases/{case_no}")
    async def sim_case(case_no: str):
        return store.inspect(case_no)

    @app.post("/sim/cases/{case_no}/advance")
    async def sim_advance(case_no: str, request: Request):
        body = await _json_body(request)
        return store.advance(case_no, _required_str(body, "status"), str(body.get("note") or ""))

    @app.get("/sim/faults")
    async def sim_faults():
        return app.state.faults

    @app.post("/sim/faults")
    async def sim_set_faults(request: Request):
        body = await _json_body(request)
        rate = body.get("fail_rate", app.state.faults["fail_rate"])
        latency = body.get("latency_ms", app.state.faults["latency_ms"])
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ApiError(422, "fail_rate", "fail_rate must be a number from 0 to 1")
        if not isinstance(latency, int) or latency < 0:
            raise ApiError(422, "latency_ms", "latency_ms must be a whole number ≥ 0")
        app.state.faults = {"fail_rate": float(rate), "latency_ms": latency}
        return app.state.faults

    return app
