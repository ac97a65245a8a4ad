"""The relay: a background worker that sends queued cases to the platform, with retries and backoff.

The queue is the `cases` table. A claim is one UPDATE over a row chosen with `FOR UPDATE SKIP LOCKED`
(PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers instead) and a lease, so several hub processes
can share one database and a crashed worker's row returns to the pool when its lease runs out.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import uuid

from sqlalchemy import select, update

from kiosk.hub import audit
from kiosk.hub.models import Case, Upload, utcnow
from kiosk.hub.tus import upload_id_from_url, upload_path
from kiosk.platform.adapter import (Applicant, CaseSubmission, MaterialFile, PlatformRejected,
                                    PlatformUnavailable)

log = logging.getLogger("kiosk.hub.relay")

ACTOR = "hub:relay"


class MaterialLost(Exception):
    pass


class Relay:
    def __init__(self, hub, poll_s: float = 1.0, retry_base_s: float = 2.0, retry_max_s: float = 300.0,
                 lease_s: float = 120.0) -> None:
        self.hub = hub
        self.worker_id = f"relay-{uuid.uuid4().hex[:8]}"
        self.poll_s = poll_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.lease_s = lease_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.worker_id, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        last_purge = 0.0
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the database went away, say: keep the worker alive and try again later
                log.exception("relay pass failed")
                worked = False
            now = utcnow().timestamp()
            if now - last_purge > 60:
                last_purge = now
                try:
                    self.purge_expired_uploads()
                except Exception:
                    log.exception("purging expired uploads failed")
            if not worked:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    # -- the queue ---------------------------------------------------------------------------
    def claim_next(self) -> int | None:
        now = utcnow()
        with self.hub.sessions() as s, s.begin():
            candidate = (select(Case.id)
                         .where(Case.status == "queued", Case.next_attempt_at <= now,
                                (Case.lease_until.is_(None)) | (Case.lease_until < now))
                         .order_by(Case.next_attempt_at, Case.id)
                         .limit(1)
                         .with_for_update(skip_locked=True))
            claimed = s.execute(
                update(Case).where(Case.id == candidate.scalar_subquery())
                .values(locked_by=self.worker_id, lease_until=now + dt.timedelta(seconds=self.lease_s),
                        attempts=Case.attempts + 1, updated_at=now)
                .returning(Case.id)
                .execution_options(synchronize_session=False)).scalar()
            return claimed

    def run_once(self) -> bool:
        """Claim and relay one case; False when nothing was due."""
        case_id = self.claim_next()
        if case_id is None:
            return False
        with self.hub.sessions() as s:
            case = s.get(Case, case_id)
            try:
                submission = self._submission(s, case)
            except MaterialLost as exc:
                self._finish(case_id, "failed", error=str(exc))
                return True
        platform = self.hub.platform
        if platform is None:
            self._retry(case_id, "no platform adapter configured")
            return True
        try:
            result = platform.submit(submission)
        except PlatformUnavailable as exc:
            self._retry(case_id, exc.message)
        except PlatformRejected as exc:
            self._finish(case_id, "failed", error=exc.message)
        except Exception as exc:  # an adapter bug must not lose the case: treat it as transient
            log.exception("relay error", extra={"receipt_no": case.receipt_no})
            self._retry(case_id, f"{type(exc).__name__}: {exc}")
        else:
            self._finish(case_id, "submitted", case_no=result.case_no, promised_by=result.promised_by,
                         platform_status=result.status)
        return True

    def _submission(self, s, case: Case) -> CaseSubmission:
        files = []
        for m in case.materials:
            upload_id = upload_id_from_url(m["upload_url"])
            path = upload_path(self.hub.upload_dir, upload_id or "-")
            try:
                content = path.read_bytes()
            except OSError:
                raise MaterialLost(f"material {m['code']}: the uploaded file is gone from the hub") from None
            filename = (s.get(Upload, upload_id).metadata_json or {}).get("filename") or f"{m['code']}.pdf"
            ctype = (s.get(Upload, upload_id).metadata_json or {}).get("filetype") or "application/pdf"
            files.append(MaterialFile(code=m["code"], name=m["name"], sha256=m["sha256"], content=content,
                                      pages=int(m.get("pages") or 1), filename=filename, content_type=ctype))
        return CaseSubmission(
            client_ref=case.receipt_no, item_code=case.item_code, item_name=case.item_name,
            applicant=Applicant(case.applicant_name, case.applicant_id_number, case.applicant_card_type,
                                case.applicant_phone, case.applicant_address),
            form=dict(case.form or {}), delivery=case.delivery, channel=case.channel,
            submitted_at=case.submitted_at, materials=files)

    def _retry(self, case_id: int, error: str) -> None:
        with self.hub.sessions() as s, s.begin():
            case = s.get(Case, case_id)
            delay = min(self.retry_max_s, self.retry_base_s * (2 ** max(0, case.attempts - 1)))
            delay *= random.uniform(0.75, 1.0)  # jitter: kiosks coming back together do not retry in step
            case.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
            case.locked_by = None
            case.lease_until = None
            case.last_error = error
            case.updated_at = utcnow()
            audit.record(s, ACTOR, "case", case.receipt_no, "relay_retry", attempt=case.attempts, error=error,
                         retry_in_s=round(delay, 2))
        log.warning("relay failed, will retry", extra={"receipt_no": case.receipt_no, "attempt": case.attempts,
                                                       "retry_in_s": round(delay, 2), "error": error})

    def _finish(self, case_id: int, status: str, *, error: str | None = None, case_no: str | None = None,
                promised_by: str | None = None, platform_status: str | None = None) -> None:
        purge: list[str] = []
        with self.hub.sessions() as s, s.begin():
            case = s.get(Case, case_id)
            case.status = status
            case.locked_by = None
            case.lease_until = None
            case.last_error = error
            case.updated_at = utcnow()
            if case_no:
                case.case_no = case_no
                case.promised_by = promised_by
                case.platform_status = platform_status
            audit.record(s, ACTOR, "case", case.receipt_no, status, case_no=case_no, promised_by=promised_by,
                         error=error, attempt=case.attempts)
            if status == "submitted":
                # The platform has the materials: the hub's copies go (PIPL Art. 21, DESIGN §6).
                for row in s.scalars(select(Upload).where(Upload.bound_to == case.receipt_no, Upload.purged.is_(False))):
                    row.purged = True
                    purge.append(row.id)
                    audit.record(s, ACTOR, "upload", row.id, "purged", reason="relayed")
        for upload_id in purge:
            upload_path(self.hub.upload_dir, upload_id).unlink(missing_ok=True)
        log.info("case relayed" if status == "submitted" else "case failed",
                 extra={"receipt_no": case.receipt_no, "case_no": case_no, "error": error})

    def purge_expired_uploads(self) -> int:
        now = utcnow()
        purge = []
        with self.hub.sessions() as s, s.begin():
            for row in s.scalars(select(Upload).where(Upload.expires_at < now, Upload.purged.is_(False),
                                                      Upload.bound_to.is_(None))):
                row.purged = True
                purge.append(row.id)
                audit.record(s, ACTOR, "upload", row.id, "purged", reason="expired")
        for upload_id in purge:
            upload_path(self.hub.upload_dir, upload_id).unlink(missing_ok=True)
        return len(purge)
