"""The hub's tables as SQLAlchemy 2 typed models. The schema itself is created by the Alembic migrations."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class ApiToken(Base):
    """A bearer token for a kiosk, clerk, supervisor or installer; only its argon2 hash is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  # the public half of the token, for lookup
    token_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Case(Base):
    """An application received from a kiosk or counter, and its relay to the platform (a queue row)."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    device_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str] = mapped_column(String(64))
    item_name: Mapped[str] = mapped_column(String(200))
    # Personal fields: what the platform needs for the application, nothing more. Never logged unmasked.
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_id_number: Mapped[str] = mapped_column(String(40))
    applicant_card_type: Mapped[str] = mapped_column(String(32))
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    applicant_address: Mapped[str] = mapped_column(String(300), default="")
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivery: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued | submitted | failed
    case_no: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    platform_status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # from the platform's callbacks
    promised_by: Mapped[str | None] = mapped_column(String(10), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyRecord(Base):
    """One `Idempotency-Key` per caller: the fingerprint of the first request and the case it created."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client", "key", name="uq_idempotency_client_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    receipt_no: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Upload(Base):
    """A tus 1.0 upload; its bytes live in a file under the hub's upload directory."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_json: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # set when complete
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    bound_to: Mapped[str | None] = mapped_column(String(40), nullable=True)  # receipt_no of the case using it
    purged: Mapped[bool] = mapped_column(Boolean, default=False)  # bytes deleted (expired, terminated or relayed)


class CatalogEntry(Base):
    """The platform's service items, cached so the catalog answers while the platform is down."""

    __tablename__ = "catalog"
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReceiptCopy(Base):
    """The ESC/POS bytes of a case's printed receipt (受理回执), kept so a clerk can reprint it (e.g. paper ran out)."""

    __tablename__ = "receipt_copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), ForeignKey("cases.receipt_no"), unique=True)
    escpos: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # when these bytes came
    stored_by: Mapped[str] = mapped_column(String(100))  # the caller's actor ("kiosk:K0001", "clerk:…")


class AuditEvent(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (triggers in the migration)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
