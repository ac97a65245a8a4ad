"""代收 to the platform: a background worker that forwards the materials a clerk collected for an application
filed elsewhere (`counter_collections`) to the platform as supplementary materials of that application.

Exactly once, like the case relay (kiosk/hub/relay.py): a collection is claimed with one UPDATE over a row
chosen with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers) and a lease, so
several hub processes can share one database and a crashed worker's collection returns to the pool when its
lease runs out; and the platform keys every supplement by the collection's number (`DS-<outlet>-<id>`), so a
delivery whose answer was lost and is sent again is stored once. A platform that is away is retried with
backoff; a collection waits (待转交) until its application has the platform's 办件编号. Once delivered (已转交)
the hub's copies of the scans are deleted, as the case relay does for a case's materials.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import select, update

from kiosk.hub import audit
from kiosk.hub.counter import Collection
from kiosk.hub.lease_worker import LeaseWorker
from kiosk.hub.models import Case, Upload, utcnow
from kiosk.hub.tus import safe_filename, upload_id_from_url, upload_path
from kiosk.hub.upload_purge import delete_files, mark_bound_purged
from kiosk.platform.adapter import MaterialFile, PlatformRejected, PlatformUnavailable

log = logging.getLogger("kiosk.hub.supplements")

ACTOR = "hub:supplements"
STATUS_TEXT = {"pending": "待转交", "delivered": "已转交", "failed": "转交失败", "discarded": "已退回"}


def collection_no(row: Collection) -> str:
    return f"DS-{row.outlet_code}-{row.id:06d}"


def bound_to(collection_id: int) -> str:
    """What a collected scan's upload row is bound to (not the case's receipt number: the case relay deletes the
    case's own uploads once the platform has them, and these must wait for their own delivery)."""
    return f"DS-{collection_id:06d}"


def status_doc(row: Collection) -> dict:
    """What the clerk sees of a collection's way to the platform."""
    status = row.relay_status or "pending"
    return {"status": status, "label": STATUS_TEXT.get(status, status), "attempts": row.relay_attempts or 0,
            "error": row.relay_error, "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None}


class _Wait(Exception):
    """Not an error of the platform: the collection waits (its application has no 办件编号 yet)."""


class _Fail(Exception):
    """The collection cannot be forwarded as it is: set aside with this message for a person."""


class SupplementsRelay(LeaseWorker):
    prefix = "supp"
    what = "supplements"

    def __init__(self, hub, poll_s: float = 1.0, retry_base_s: float = 2.0, retry_max_s: float = 60.0,
                 lease_s: float = 60.0) -> None:
        # lease_s: longer than the adapter's timeout (a collection is a few pages, sent in one call)
        super().__init__(hub, log, poll_s=poll_s, retry_base_s=retry_base_s, retry_max_s=retry_max_s,
                         lease_s=lease_s)

    # -- the queue -------------------------------------------------------------------------------
    def claim_next(self) -> int | None:
        now = utcnow()
        with self.hub.sessions() as s, s.begin():
            candidate = (select(Collection.id)
                         .where(Collection.relay_status == "pending",
                                (Collection.relay_next_at.is_(None)) | (Collection.relay_next_at <= now),
                                (Collection.relay_lease_until.is_(None)) | (Collection.relay_lease_until < now))
                         .order_by(Collection.id)
                         .limit(1)
                         .with_for_update(skip_locked=True))
            return s.execute(
                update(Collection).where(Collection.id == candidate.scalar_subquery())
                .values(relay_locked_by=self.worker_id, relay_lease_until=now + dt.timedelta(seconds=self.lease_s),
                        relay_attempts=Collection.relay_attempts + 1)
                .returning(Collection.id)
                .execution_options(synchronize_session=False)).scalar()

    def run_once(self) -> bool:
        """Claim and forward one collection; False when nothing was due."""
        collection_id = self.claim_next()
        if collection_id is None:
            return False
        try:
            case_no, ref, files = self._prepare(collection_id)
            platform = self.hub.platform
            if platform is None:
                raise _Wait("no platform adapter configured")
            answer = platform.send_supplement(case_no, ref, files)
        except _Wait as exc:
            self._retry(collection_id, str(exc))
        except _Fail as exc:
            self._finish(collection_id, "failed", error=str(exc))
        except PlatformUnavailable as exc:
            self._retry(collection_id, exc.message)
        except PlatformRejected as exc:
            self._finish(collection_id, "failed", error=exc.message)
        except NotImplementedError:
            self._retry(collection_id, "this platform adapter cannot forward supplementary materials yet")
        except Exception as exc:  # an adapter bug must not lose the collection: retried, then set aside
            self.unexpected(exc, self._attempts(collection_id), lambda e: self._retry(collection_id, e),
                            lambda e: self._finish(collection_id, "failed", error=e), collection=collection_id)
        else:
            self._finish(collection_id, "delivered", answer=answer)
        return True

    def _attempts(self, collection_id: int) -> int:
        with self.hub.sessions() as s:
            return s.get(Collection, collection_id).relay_attempts or 0

    def _prepare(self, collection_id: int) -> tuple[str, str, list[MaterialFile]]:
        with self.hub.sessions() as s:
            row = s.get(Collection, collection_id)
            case = s.scalar(select(Case).where(Case.receipt_no == row.receipt_no))
            if case is None:
                raise _Fail(f"application {row.receipt_no} is no longer at the hub")
            if case.status == "failed":
                raise _Fail(f"application {row.receipt_no} was not accepted by the platform: the collected papers"
                            " cannot be added to it; give them back to the citizen or file a new application")
            if not case.case_no:
                raise _Wait(f"application {row.receipt_no} has no 办件编号 from the platform yet")
            files = []
            for m in row.materials or []:
                upload_id = upload_id_from_url(m.get("upload_url") or "")
                try:
                    content = upload_path(self.hub.upload_dir, upload_id or "-").read_bytes()
                except OSError:
                    raise _Fail(f"material {m.get('code')}: the scanned file is gone from the hub; scan it again"
                                " as a new collection") from None
                if hashlib.sha256(content).hexdigest() != m.get("sha256"):
                    raise _Fail(f"material {m.get('code')}: the scanned file at the hub is damaged; scan it again")
                meta = (s.get(Upload, upload_id).metadata_json or {}) if upload_id else {}
                files.append(MaterialFile(code=m["code"], name=m["name"], sha256=m["sha256"], content=content,
                                          pages=int(m.get("pages") or 1),
                                          filename=safe_filename(meta.get("filename"), f"{m['code']}.pdf"),
                                          content_type=meta.get("filetype") or "application/pdf"))
            return case.case_no, collection_no(row), files

    def _retry(self, collection_id: int, error: str) -> None:
        with self.hub.sessions() as s, s.begin():
            row = s.get(Collection, collection_id)
            if row.relay_locked_by != self.worker_id or row.relay_status != "pending":
                return  # our lease ran out and another worker has it now
            delay = self.backoff_s(row.relay_attempts or 1)
            row.relay_next_at = utcnow() + dt.timedelta(seconds=delay)
            row.relay_locked_by = None
            row.relay_lease_until = None
            row.relay_error = error[:500]
            audit.record(s, ACTOR, "collection", collection_no(row), "supplements_retry", receipt_no=row.receipt_no,
                         attempt=row.relay_attempts, error=error[:500], retry_in_s=round(delay, 2))
        self._throttle.warning("collection not forwarded yet, will retry", key="retry",
                               extra={"collection": collection_id, "error": error[:200]})

    def _finish(self, collection_id: int, status: str, *, error: str | None = None, answer: dict | None = None) -> None:
        purge: list[str] = []
        with self.hub.sessions() as s, s.begin():
            row = s.get(Collection, collection_id)
            if row.relay_status == "delivered":  # another worker (after our lease ran out) delivered it already
                return
            row.relay_status = status
            row.relay_locked_by = None
            row.relay_lease_until = None
            row.relay_error = error[:500] if error else None
            if status == "delivered":
                row.delivered_at = utcnow()
                # The platform has the pages: the hub's copies go (as for a case's own materials).
                purge = mark_bound_purged(s, bound_to(row.id), ACTOR, "supplement_delivered")
            audit.record(s, ACTOR, "collection", collection_no(row), f"supplements_{status}",
                         receipt_no=row.receipt_no, attempt=row.relay_attempts, error=error,
                         materials=[m.get("sha256") for m in row.materials or []],
                         platform_ref=(answer or {}).get("supplement_ref"))
        delete_files(self.hub.upload_dir, purge)  # what cannot go now, the case relay's file sweep deletes later
        log.info("collection forwarded" if status == "delivered" else "collection set aside",
                 extra={"collection": collection_id, "error": error})
