"""The append-only audit log: every state change of a case, upload or token lands here (DESIGN §6).

The database refuses UPDATE, DELETE and TRUNCATE on the table (and, on SQLite, an INSERT that would replace a
row); on PostgreSQL the hub runs as a role that may only read and append to it (docs/reliability.md). On top of
that the log is a hash chain: each row carries the SHA-256 of the row before it and of its own content, so a
row changed, removed or slipped in by someone who can bypass both shows up in `kiosk hub audit verify`.

Rows are chained at commit, after every other change of the transaction is written: the transaction then takes
the chain's lock (PostgreSQL: a transaction-level advisory lock; SQLite: BEGIN IMMEDIATE already serialises
writers), reads the last hash, links and inserts its own rows and commits, so concurrent hubs on one database
append one after the other, and no transaction waits for a row lock while it holds the chain's lock.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from kiosk.hub.models import AuditEvent, utcnow
from kiosk.privacy.masking import mask_mapping

GENESIS = "0" * 64
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('govkiosk-audit:' || current_schema()))"


_PENDING = "audit_pending"


def record(session: Session, actor: str, entity: str, entity_id: str, action: str, **detail: Any) -> None:
    """Add an event in the caller's transaction, so the change and its record commit together (the row is
    inserted at commit, see the module docstring)."""
    session.info.setdefault(_PENDING, []).append(
        AuditEvent(actor=actor, entity=entity, entity_id=entity_id, action=action, detail=mask_mapping(detail),
                   at=utcnow()))


def _canonical_at(value: dt.datetime | str | None) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(prev_hash: str, at, actor: str, entity: str, entity_id: str, action: str, detail: Any) -> str:
    if isinstance(detail, str):
        detail = json.loads(detail)
    body = json.dumps([prev_hash, _canonical_at(at), actor, entity, entity_id, action, detail or {}],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_LAST_HASH = select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__)


def _last_hash(session: Session) -> str:
    return session.execute(_LAST_HASH).scalar() or GENESIS


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # every other change first: its row locks are taken before the chain's lock
    _link(session, pending)
    # One INSERT for the lot, past the ORM (nothing reads these objects back).
    session.connection().execute(_INSERT, [
        {"at": ev.at, "actor": ev.actor, "entity": ev.entity, "entity_id": ev.entity_id, "action": ev.action,
         "detail": ev.detail, "prev_hash": ev.prev_hash, "row_hash": ev.row_hash} for ev in pending])


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_flush")
def _chain(session: Session, _context, _instances) -> None:
    """Audit rows added to the session directly (not through `record`) are chained when flushed."""
    new = [o for o in session.new if isinstance(o, AuditEvent) and o.row_hash is None]
    if new:
        _link(session, new)


def _link(session: Session, new: list[AuditEvent]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_LOCK))
    with session.no_autoflush:
        prev = _last_hash(session)
    for ev in new:
        if ev.at is None:
            ev.at = utcnow()
        if ev.detail is None:
            ev.detail = {}
        ev.prev_hash = prev
        ev.row_hash = row_hash(prev, ev.at, ev.actor, ev.entity, ev.entity_id, ev.action, ev.detail)
        prev = ev.row_hash


def verify_rows(rows: Iterable) -> dict:
    """Walk rows (id, at, actor, entity, entity_id, action, detail, prev_hash, row_hash) in id order."""
    prev = GENESIS
    count = 0
    for r in rows:
        count += 1
        if r.prev_hash != prev:
            return {"ok": False, "rows": count, "bad_id": r.id,
                    "reason": "the row does not follow the one before it (a row was removed, inserted or reordered)"}
        expected = row_hash(r.prev_hash, r.at, r.actor, r.entity, r.entity_id, r.action, r.detail)
        if r.row_hash != expected:
            return {"ok": False, "rows": count, "bad_id": r.id, "reason": "the row's content was changed"}
        prev = r.row_hash
    return {"ok": True, "rows": count, "bad_id": None, "reason": None, "last_hash": prev}


def verify(session: Session, batch: int = 5000) -> dict:
    """Check the whole chain; reads in batches so a long log does not fill memory."""
    cols = (AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.entity, AuditEvent.entity_id,
            AuditEvent.action, AuditEvent.detail, AuditEvent.prev_hash, AuditEvent.row_hash)

    def rows():
        last_id = -1
        while True:
            chunk = session.execute(select(*cols).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
                                    .limit(batch)).all()
            if not chunk:
                return
            yield from chunk
            last_id = chunk[-1].id

    return verify_rows(rows())
