"""What an operator does with 代收 collections the platform would not take (`failed`, 转交失败): send them again
once the cause is fixed (`retry`), or, when the papers went back to the citizen, delete the hub's copies of the
scans (`discard`, PIPL: nothing personal is kept without a purpose). `kiosk hub collections …` drives these.
"""
from __future__ import annotations

from sqlalchemy import func, select

from kiosk.errors import InvalidInput
from kiosk.hub import audit
from kiosk.hub.counter import Collection
from kiosk.hub.models import Upload
from kiosk.hub.supplements_relay import STATUS_TEXT, bound_to, collection_no
from kiosk.hub.upload_purge import delete_files, mark_bound_purged

STATUSES = ("pending", "delivered", "failed", "discarded")


def _doc(row: Collection, scans_kept: int) -> dict:
    return {"collection_no": collection_no(row), "receipt_no": row.receipt_no, "outlet": row.outlet_code,
            "clerk": row.clerk, "at": row.at.isoformat() if row.at else None, "status": row.relay_status,
            "label": STATUS_TEXT.get(row.relay_status, row.relay_status), "attempts": row.relay_attempts or 0,
            "error": row.relay_error, "materials": [m.get("code") for m in row.materials or []],
            "scans_kept": scans_kept}


def _kept(s, row: Collection) -> int:
    return len(s.scalars(select(Upload.id).where(Upload.bound_to == bound_to(row.id), Upload.purged.is_(False))).all())


def list_collections(sessions, status: str | None = "failed") -> list[dict]:
    with sessions() as s:
        q = select(Collection).order_by(Collection.id)
        if status:
            q = q.where(Collection.relay_status == status)
        rows = list(s.scalars(q))
        kept: dict[str, int] = {}
        for i in range(0, len(rows), 500):  # one grouped count per 500 collections, not one query each
            bounds = [bound_to(row.id) for row in rows[i:i + 500]]
            kept.update(s.execute(select(Upload.bound_to, func.count()).where(
                Upload.bound_to.in_(bounds), Upload.purged.is_(False)).group_by(Upload.bound_to)).all())
        return [_doc(row, kept.get(bound_to(row.id), 0)) for row in rows]


def _find(s, number: str) -> Collection:
    """`DS-<outlet>-<id>` as the clerk's slip prints it, or the bare id."""
    raw = number.strip()
    try:
        cid = int(raw.rsplit("-", 1)[-1])
    except ValueError:
        cid = None
    row = s.get(Collection, cid, with_for_update=True) if cid is not None else None
    if row is None or (raw.startswith("DS-") and collection_no(row) != raw):
        raise InvalidInput(f"no collection {raw!r} at this hub", "see `kiosk hub collections list --status all`")
    return row


def retry(sessions, number: str, actor: str = "cli") -> dict:
    """A `failed` collection back to the queue (待转交), its scans intact; the relay sends it on its next turn."""
    with sessions() as s, s.begin():
        row = _find(s, number)
        if row.relay_status != "failed":
            raise InvalidInput(f"{collection_no(row)} is {STATUS_TEXT.get(row.relay_status, row.relay_status)}"
                               f" ({row.relay_status}): only a failed collection is sent again", "")
        kept = _kept(s, row)
        if kept < len(row.materials or []):
            raise InvalidInput(f"{collection_no(row)}: the hub no longer has all its scans ({kept} of"
                               f" {len(row.materials or [])})",
                               "collect the papers again at the counter as a new collection")
        previous = row.relay_error
        row.relay_status, row.relay_error, row.relay_next_at = "pending", None, None
        row.relay_locked_by = row.relay_lease_until = None
        audit.record(s, actor, "collection", collection_no(row), "supplements_requeued", receipt_no=row.receipt_no,
                     previous_error=(previous or "")[:500])
        return _doc(row, kept)


def discard(sessions, upload_dir, number: str, reason: str, actor: str = "cli") -> dict:
    """A `failed` collection whose papers went back to the citizen: the hub's copies of its scans are deleted
    and it is marked `discarded` (kept as a record, with the reason)."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("a reason is needed", "say what happened to the papers, e.g. --reason '材料已退还群众'")
    with sessions() as s, s.begin():
        row = _find(s, number)
        if row.relay_status != "failed":
            raise InvalidInput(f"{collection_no(row)} is {row.relay_status}: only a failed collection is"
                               " discarded", "a pending one is still being sent; a delivered one has no scans left"
                               " at the hub")
        purge = mark_bound_purged(s, bound_to(row.id), actor, "collection_discarded")
        row.relay_status = "discarded"
        row.relay_error = f"discarded: {reason}"[:500]
        audit.record(s, actor, "collection", collection_no(row), "supplements_discarded", receipt_no=row.receipt_no,
                     reason=reason[:200], scans=len(purge))
        doc = _doc(row, 0)
    delete_files(upload_dir, purge)  # what cannot go now, the case relay's file sweep deletes later
    return doc
