"""The relay: a background worker that sends queued cases to the platform, with retries and backoff.

The queue is the `cases` table. A claim is one UPDATE over a row chosen with `FOR UPDATE SKIP LOCKED`
(PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers instead) and a lease, so several hub processes
can share one database and a crashed worker's row returns to the pool when its lease runs out. The lease is
short and renewed while a delivery is in flight, so a killed hub's case is picked up within `lease_s`.

When the platform fails several times in a row the relay stops claiming and probes it instead (one cheap
call per probe interval, whatever the backlog), and when it answers again every case waiting for a retry is
made due at once: recovery takes one probe interval, and a platform that is still down sees only the probes.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, literal, select, update

from kiosk.hub import audit, case_fields
from kiosk.hub.db import not_the_database, read_only
from kiosk.hub.group_commit import GroupCommit
from kiosk.hub.limits import is_disk_full
from kiosk.hub.lease_worker import LeaseWorker
from kiosk.hub.models import Case, Upload, utcnow
from kiosk.hub.tus import safe_filename, upload_id_from_url, upload_path
from kiosk.hub.upload_purge import delete_files, purge_bound, record_purged
from kiosk.platform.adapter import (Applicant, CaseSubmission, MaterialFile, PlatformRejected,
                                    PlatformUnavailable)

log = logging.getLogger("kiosk.hub.relay")

ACTOR = "hub:relay"
DOWN_AFTER_FAILURES = 3     # consecutive PlatformUnavailable before the relay probes instead of claiming
PROBE_MIN_S = 1.0
PROBE_MAX_S = 10.0          # the slowest probe rhythm while the platform stays down: recovery within ~10 s
SWEEP_EVERY_S = 60.0


def _claim_statement():
    """The claim, built once: the `k` queued cases due first whose leases (if any) have run out, taken with one
    UPDATE that answers their whole rows (a delivery needs no read of its own). It walks `ix_cases_queue` in its
    order (migration 0014)."""
    now = bindparam("now", type_=Case.__table__.c.next_attempt_at.type)
    candidate = (select(Case.id)
                 .where(Case.status == "queued", Case.next_attempt_at <= now,
                        (Case.lease_until.is_(None)) | (Case.lease_until < now))
                 .order_by(Case.next_attempt_at, Case.id)
                 .limit(bindparam("k"))
                 .with_for_update(skip_locked=True))
    return (update(Case).where(Case.id.in_(candidate))
            .values(locked_by=bindparam("worker"), lease_until=bindparam("lease_until"),
                    attempts=Case.attempts + 1, updated_at=now)
            .returning(*Case.__table__.c))


_CLAIM = _claim_statement()


class MaterialLost(Exception):
    pass


@dataclass(slots=True)
class _Finish:
    """A delivery's end, written by `Relay._finish_batch` (with others', see kiosk/hub/group_commit.py)."""
    case_id: int
    status: str  # submitted | failed
    error: str | None = None
    case_no: str | None = None
    promised_by: str | None = None
    platform_status: str | None = None
    receipt_no: str | None = None  # set by the write; None: another worker had delivered the case already
    purge: list[str] = field(default_factory=list)  # set by the write: the relayed case's uploads to delete

    def columns(self) -> dict:
        out = {"status": self.status, "locked_by": None, "lease_until": None, "last_error": self.error}
        if self.case_no:
            out.update(case_no=self.case_no, promised_by=self.promised_by, platform_status=self.platform_status)
        return out


class Relay(LeaseWorker):
    prefix = what = "relay"

    def __init__(self, hub, poll_s: float = 1.0, retry_base_s: float = 2.0, retry_max_s: float = 60.0,
                 lease_s: float = 15.0, probe_max_s: float = PROBE_MAX_S, concurrency: int = 4) -> None:
        # concurrency: deliveries in flight per hub process (one thread each)
        super().__init__(hub, log, poll_s=poll_s, retry_base_s=retry_base_s, retry_max_s=retry_max_s,
                         lease_s=lease_s, threads=concurrency)
        self.probe_max_s = probe_max_s
        self._in_flight: set[int] = set()  # cases this process is delivering: their leases are renewed together
        self._keeper: threading.Thread | None = None
        self._keeper_lock = threading.Lock()
        self._failures = 0          # consecutive PlatformUnavailable
        self._probe_at = 0.0        # monotonic time of the next probe while the platform is down
        self._probe_every = PROBE_MIN_S
        self.probes = 0             # probes sent (the only calls a down platform gets)
        self.reserve_releases = 0   # times a full disk made the relay delete the reserve
        self._last_sweep = 0.0
        # Deliveries that end together commit together; a shared end that fails is written case by case, unless
        # the database itself failed. Threads that claim together claim in one statement (no claim is a case's own).
        self._finisher = GroupCommit(self._finish_batch, alone=not_the_database)
        self._claimer = GroupCommit(self._claim_batch, alone=lambda exc: False)

    @property
    def platform_down(self) -> bool:
        return self._failures >= DOWN_AFTER_FAILURES

    def start(self) -> None:
        self._last_sweep = 0.0  # the upkeep runs as the relay starts, then every SWEEP_EVERY_S
        super().start()

    # -- one pass of a delivery thread ---------------------------------------------------------
    def _pass(self, index: int) -> bool:
        try:
            if self.platform_down:
                return self._probe() if index == 0 else False  # one prober per process
            return self.run_once()
        finally:
            if index == 0:
                self._upkeep()

    def _pass_failed(self, exc: Exception) -> bool:
        if is_disk_full(exc) and self._release_reserve():
            return True  # room again: retry at once
        return super()._pass_failed(exc)

    def _idle_wait(self) -> float:
        if self.platform_down:
            return max(0.05, min(self.poll_s, self._probe_at - time.monotonic()))
        return self.poll_s

    def _upkeep(self) -> None:
        """Every SWEEP_EVERY_S (first delivery thread only): expired uploads, left-behind files, the reserve."""
        now = time.monotonic()
        if now - self._last_sweep <= SWEEP_EVERY_S:
            return
        self._last_sweep = now
        try:
            self.purge_expired_uploads()
            self.sweep_files()
            self._ensure_reserve()
        except Exception as exc:
            self._throttle.exception("upload upkeep failed", exc, key="upkeep")

    def _release_reserve(self) -> bool:
        volume = getattr(self.hub, "volume", None)
        released = volume is not None and volume.release_reserve()
        self.reserve_releases += released
        return released

    def _ensure_reserve(self) -> None:
        volume = getattr(self.hub, "volume", None)
        if volume is not None:
            volume.ensure_reserve()

    # -- platform outages ------------------------------------------------------------------------
    def _platform_failed(self) -> None:
        self._failures += 1
        if self._failures == DOWN_AFTER_FAILURES:
            self._probe_every = PROBE_MIN_S
            self._probe_at = time.monotonic() + self._probe_every
            log.warning("platform unreachable; probing it instead of sending cases",
                        extra={"worker": self.worker_id, "probe_max_s": self.probe_max_s})

    def _platform_ok(self) -> None:
        self._failures = 0

    def _probe(self) -> bool:
        """While the platform is down: one cheap call when the probe is due; on success, wake the queue."""
        if time.monotonic() < self._probe_at:
            return False
        platform = self.hub.platform
        self.probes += 1
        try:
            if platform is None:
                raise RuntimeError("no platform adapter configured")
            platform.fetch_catalog()
        except Exception:
            self._probe_every = min(self.probe_max_s, self._probe_every * 2)
            self._probe_at = time.monotonic() + self._probe_every * random.uniform(0.8, 1.0)
            return False
        due = self.make_retries_due()
        self._platform_ok()
        log.info("platform answers again; retrying waiting cases now", extra={"worker": self.worker_id, "cases": due})
        return True

    def make_retries_due(self) -> int:
        """Cases waiting for a retry become due now (the platform is back)."""
        now = utcnow()
        with self.hub.sessions() as s, s.begin():
            return s.execute(update(Case).where(Case.status == "queued", Case.next_attempt_at > now)
                             .values(next_attempt_at=now).execution_options(synchronize_session=False)).rowcount

    # -- the queue ---------------------------------------------------------------------------
    def claim_next(self) -> int | None:
        claimed = self._claim()
        return claimed[0].id if claimed else None

    def _claim(self):
        """Claim the case due first: its row and its uploads' metadata (by upload id), or None. Threads that claim
        while another thread's claim is under way claim together, in one transaction, after it."""
        return self._claimer(None)

    def _claim_batch(self, wanted: list) -> list:
        """One claim of len(wanted) cases: each taken row with its uploads' metadata, earliest due first, then
        None for each claim the queue had no case for."""
        now = utcnow()
        # A Core transaction: the claim writes no audit row, and the ORM session's bookkeeping was a fifth of it.
        with self.hub.engine.begin() as conn:
            rows = conn.execute(_CLAIM, {"now": now, "worker": self.worker_id, "k": len(wanted),
                                         "lease_until": now + dt.timedelta(seconds=self.lease_s)}).all()
            ids = {row.id: [i for i in (upload_id_from_url(m["upload_url"]) for m in row.materials) if i]
                   for row in rows}
            every = [i for found in ids.values() for i in found]
            uploads = Upload.__table__
            metadata = dict(conn.execute(select(uploads.c.id, uploads.c.metadata_json)
                                         .where(uploads.c.id.in_(every))).all()) if every else {}
        rows.sort(key=lambda row: (row.next_attempt_at, row.id))
        taken = [(row, {i: metadata[i] for i in ids[row.id] if i in metadata}) for row in rows]
        return taken + [None] * (len(wanted) - len(taken))

    def renew_lease(self, case_id: int) -> bool:
        """Push the lease of a case this worker holds; False if it is no longer ours."""
        now = utcnow()
        with self.hub.sessions() as s, s.begin():
            return s.execute(update(Case).where(Case.id == case_id, Case.locked_by == self.worker_id)
                             .values(lease_until=now + dt.timedelta(seconds=self.lease_s))
                             .execution_options(synchronize_session=False)).rowcount == 1

    def renew_leases(self, case_ids: list[int]) -> int:
        """Push the leases of several cases this worker holds in one statement; returns how many are still ours."""
        now = utcnow()
        with self.hub.sessions() as s, s.begin():
            return s.execute(update(Case).where(Case.id.in_(case_ids), Case.locked_by == self.worker_id)
                             .values(lease_until=now + dt.timedelta(seconds=self.lease_s))
                             .execution_options(synchronize_session=False)).rowcount

    def _track(self, case_id: int) -> None:
        """A delivery starts: its lease is renewed every lease_s / 3 until `_untrack`. One keeper thread renews
        every case in flight (started on demand), instead of a thread per delivery."""
        with self._keeper_lock:
            self._in_flight.add(case_id)
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep_leases, name=f"{self.worker_id}-lease", daemon=True)
                self._keeper.start()

    def _untrack(self, case_id: int) -> None:
        with self._keeper_lock:
            self._in_flight.discard(case_id)

    def _keep_leases(self) -> None:
        while True:
            time.sleep(self.lease_s / 3)
            with self._keeper_lock:
                ids = sorted(self._in_flight)
                if not ids:
                    self._keeper = None  # the next delivery starts a new keeper
                    return
            try:
                self.renew_leases(ids)
            except Exception as exc:
                self._throttle.exception("lease renewal failed", exc, key="lease")

    def run_once(self) -> bool:
        """Claim and relay one case; False when nothing was due."""
        claimed = self._claim()
        if claimed is None:
            return False
        # The claim answered the row and its uploads' metadata: read as Core rows, not ORM objects (loading them
        # through the session was a sixth of a delivery on PostgreSQL), in the claim's own transaction.
        case, metadata = claimed
        case_id, receipt_no = case.id, case.receipt_no
        try:
            submission = self._submission(case, metadata)
        except MaterialLost as exc:
            self._finish(case_id, "failed", error=str(exc))
            return True
        platform = self.hub.platform
        if platform is None:
            self._retry(case_id, "no platform adapter configured")
            return True
        self._track(case_id)
        try:
            result = platform.submit(submission)
        except PlatformUnavailable as exc:
            self._platform_failed()
            self._retry(case_id, exc.message)
        except PlatformRejected as exc:
            self._platform_ok()
            self._finish(case_id, "failed", error=exc.message)
        except Exception as exc:  # an adapter bug must not lose the case: retried a few times, then set aside
            self.unexpected(exc, self._attempts(case_id), lambda e: self._retry(case_id, e),
                            lambda e: self._finish(case_id, "failed", error=e), receipt_no=receipt_no)
        else:
            self._platform_ok()
            self._finish(case_id, "submitted", case_no=result.case_no, promised_by=result.promised_by,
                         platform_status=result.status)
        finally:
            self._untrack(case_id)
        return True

    def _attempts(self, case_id: int) -> int:
        with self.hub.sessions() as s:
            read_only(s)
            return s.get(Case, case_id).attempts

    def _submission(self, case, metadata: dict) -> CaseSubmission:
        """The platform's view of a case (a `cases` row): its materials read from the upload store."""
        ids = [upload_id_from_url(m["upload_url"]) for m in case.materials]
        files = []
        for m, upload_id in zip(case.materials, ids):
            path = upload_path(self.hub.upload_dir, upload_id or "-")
            try:
                content = path.read_bytes()
            except OSError:
                raise MaterialLost(f"material {m['code']}: the uploaded file is gone from the hub") from None
            meta = metadata.get(upload_id) or {}
            filename = safe_filename(meta.get("filename"), f"{m['code']}.pdf")
            ctype = meta.get("filetype") or "application/pdf"
            files.append(MaterialFile(code=m["code"], name=m["name"], sha256=m["sha256"], content=content,
                                      pages=int(m.get("pages") or 1), filename=filename, content_type=ctype))
        p = case_fields.unseal(case_fields.field_cipher(self.hub), case)
        return CaseSubmission(
            client_ref=case.receipt_no, item_code=case.item_code, item_name=case.item_name,
            applicant=Applicant(p.name, p.id_number, p.card_type, p.phone, p.address),
            form=dict(p.form or {}), delivery=case.delivery, channel=case.channel,
            submitted_at=case.submitted_at, materials=files)

    def _retry(self, case_id: int, error: str) -> None:
        with self.hub.sessions() as s, s.begin():
            case = s.get(Case, case_id)
            if case.locked_by != self.worker_id:  # our lease ran out and another worker has it now
                return
            delay = self.backoff_s(case.attempts)
            case.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
            case.locked_by = None
            case.lease_until = None
            case.last_error = error
            case.updated_at = utcnow()
            audit.record(s, ACTOR, "case", case.receipt_no, "relay_retry", attempt=case.attempts, error=error,
                         retry_in_s=round(delay, 2))
        self._throttle.warning("relay failed, will retry", key="retry",
                               extra={"receipt_no": case.receipt_no, "attempt": case.attempts,
                                      "retry_in_s": round(delay, 2), "error": error})

    def _finish(self, case_id: int, status: str, *, error: str | None = None, case_no: str | None = None,
                promised_by: str | None = None, platform_status: str | None = None) -> None:
        done = self._finisher(_Finish(case_id, status, error, case_no, promised_by, platform_status))
        if done.receipt_no is None:
            return
        self._unlink(done.purge)
        log.info("case relayed" if status == "submitted" else "case failed",
                 extra={"receipt_no": done.receipt_no, "case_no": case_no, "error": error})

    def _finish_batch(self, batch: list[_Finish]) -> list[_Finish]:
        """Write deliveries' ends in one transaction: the cases' rows (one statement; a case another worker
        delivered already, after our lease ran out, is left as it is), the purge of the relayed cases' uploads
        (one statement: the platform has the materials, the hub's copies go — PIPL Art. 21, DESIGN §6) and the
        audit rows, each case's own followed by its uploads'."""
        t = Case.__table__  # Core statements: the ORM's bulk-update path was a quarter of a finish
        columns = {f.case_id: f.columns() for f in batch}
        values: dict = {"updated_at": utcnow()}
        for key in dict.fromkeys(k for c in columns.values() for k in c):
            given = {case_id: c[key] for case_id, c in columns.items() if key in c}
            first = next(iter(given.values()))
            if len(given) == len(batch) and all(v == first for v in given.values()):
                values[key] = first  # the same for every case (one case alone: all of them)
            else:
                values[key] = case({i: literal(v, t.c[key].type) for i, v in given.items()}, value=t.c.id,
                                   else_=t.c[key])
        with self.hub.sessions() as s, s.begin():
            rows = {row.id: row for row in s.connection().execute(
                update(t).where(t.c.id.in_([f.case_id for f in batch]), t.c.status != "submitted")
                .values(**values).returning(t.c.id, t.c.receipt_no, t.c.attempts))}
            for f in batch:
                row = rows.get(f.case_id)
                f.receipt_no, f.purge = (row.receipt_no if row else None), []
            relayed = [f.receipt_no for f in batch if f.receipt_no and f.status == "submitted"]
            purged = purge_bound(s, relayed) if relayed else {}
            for f in batch:
                if f.receipt_no is None:
                    continue
                audit.record(s, ACTOR, "case", f.receipt_no, f.status, case_no=f.case_no, promised_by=f.promised_by,
                             error=f.error, attempt=rows[f.case_id].attempts)
                if f.status == "submitted":
                    f.purge = purged.get(f.receipt_no, [])
                    record_purged(s, f.purge, ACTOR, "relayed")
        return batch

    def purge_expired_uploads(self) -> int:
        now = utcnow()
        purge = []
        with self.hub.sessions() as s, s.begin():
            for row in s.scalars(select(Upload).where(Upload.expires_at < now, Upload.purged.is_(False),
                                                      Upload.bound_to.is_(None))):
                row.purged = True
                purge.append(row.id)
                audit.record(s, ACTOR, "upload", row.id, "purged", reason="expired")
        self._unlink(purge)
        return len(purge)

    def _unlink(self, upload_ids: list[str]) -> int:
        """Delete purged uploads' files; one that cannot go now (read-only or failing volume) stays for
        `sweep_files`, which retries until it is gone. Returns how many are left behind."""
        left = delete_files(self.hub.upload_dir, upload_ids)
        for upload_id, exc in left:
            self._throttle.warning("cannot delete a relayed upload's file; will retry", key="unlink",
                                   extra={"upload_id": upload_id, "error": exc.strerror})
        return len(left)

    def sweep_files(self, grace_s: float | None = None) -> dict:
        """Delete files the database no longer accounts for: those of purged uploads (a delete that failed
        before) and, after a grace period, files with no row at all or chunk parts a crash left behind."""
        from kiosk.hub.storage import ORPHAN_GRACE_S, Volume

        volume = getattr(self.hub, "volume", None) or Volume(self.hub.upload_dir)
        grace = ORPHAN_GRACE_S if grace_s is None else grace_s
        ids = [p.name[:-4] for p in self.hub.upload_dir.glob("*.bin")]
        live: set[str] = set()
        purged: set[str] = set()
        with self.hub.sessions() as s:
            for i in range(0, len(ids), 500):
                for uid, is_purged in s.execute(select(Upload.id, Upload.purged).where(Upload.id.in_(ids[i:i + 500]))):
                    (purged if is_purged else live).add(uid)
        removed = self._unlink(sorted(purged))
        stray = [p for p in volume.stray_files(live | purged, now=time.time() + ORPHAN_GRACE_S - grace)]
        for p in stray:
            try:
                p.unlink(missing_ok=True)
            except OSError:
                removed += 1
        return {"purged_files": len(purged), "stray_files": len(stray), "left": removed}
