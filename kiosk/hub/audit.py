"""The append-only audit log: every state change of a case, upload or token lands here (DESIGN §6)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kiosk.hub.models import AuditEvent
from kiosk.privacy.masking import mask_mapping


def record(session: Session, actor: str, entity: str, entity_id: str, action: str, **detail: Any) -> None:
    """Add an event in the caller's transaction, so the change and its record commit together."""
    session.add(AuditEvent(actor=actor, entity=entity, entity_id=entity_id, action=action, detail=mask_mapping(detail)))
