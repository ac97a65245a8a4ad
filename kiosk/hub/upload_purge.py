"""The end of an uploaded file's life at the hub (PIPL Art. 21: nothing personal is kept once its purpose is over).

An upload bound to something (a case's receipt number, a 代收 collection, a 代办 request) is marked purged and
audited inside the transaction that ends that purpose; its file is deleted once that transaction committed. A
file that cannot be deleted then (a read-only or failing volume) is deleted later by the relay's file sweep
(`Relay.sweep_files`), which removes the files of every purged upload.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from kiosk.hub import audit
from kiosk.hub.models import Upload
from kiosk.hub.tus import upload_path


def mark_bound_purged(s, bound: str, actor: str, reason: str) -> list[str]:
    """Mark the uploads still kept for `bound` purged (one audit row each); the ids whose files are to go."""
    purged = purge_bound(s, [bound]).get(bound, [])
    record_purged(s, purged, actor, reason)
    return purged


def record_purged(s, upload_ids: list[str], actor: str, reason: str) -> None:
    """The audit rows of uploads just purged, one each."""
    for upload_id in upload_ids:
        audit.record(s, actor, "upload", upload_id, "purged", reason=reason)


def purge_bound(s, bounds: list[str]) -> dict[str, list[str]]:
    """Mark the uploads still kept for any of `bounds` purged, in one statement; their ids by what they were
    bound to (the caller writes the audit rows)."""
    t = Upload.__table__
    # One Core UPDATE (the ORM's bulk-update path cost three times as much); rows this session has loaded are
    # told, so a later read in the same transaction does not see them kept.
    rows = s.connection().execute(update(t).where(t.c.bound_to.in_(bounds), t.c.purged.is_(False))
                                  .values(purged=True).returning(t.c.id, t.c.bound_to)).all()
    by_bound: dict[str, list[str]] = {}
    for upload_id, bound in sorted(rows):
        by_bound.setdefault(bound, []).append(upload_id)
    ids = {upload_id for upload_id, _ in rows}
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Upload) and obj.id in ids:
            set_committed_value(obj, "purged", True)
    return by_bound


def delete_files(upload_dir: Path, upload_ids: list[str]) -> list[tuple[str, OSError]]:
    """Delete purged uploads' files (after the commit that purged them); those that could not go, with why."""
    left = []
    for upload_id in upload_ids:
        try:
            upload_path(upload_dir, upload_id).unlink(missing_ok=True)
        except OSError as exc:
            left.append((upload_id, exc))
    return left
