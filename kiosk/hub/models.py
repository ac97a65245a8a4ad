"""The hub's tables as SQLAlchemy 2 typed models. The schema itself is created by the Alembic migrations."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
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
    outlet_code: Mapped[str | None] = mapped_column(String(32), nullable=True)  # clerks and escalation levels
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the person holding it, if any
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Case(Base):
    """An application received from a kiosk or counter, and its relay to the platform (a queue row)."""

    __tablename__ = "cases"
    # The relay's claim walks this index in its order (queued, next attempt, id) to the first row without a lease;
    # it also serves every lookup by status (migration 0014).
    __table_args__ = (Index("ix_cases_queue", "status", "next_attempt_at", "id"),)
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
    # Since migration 0005 the fields above hold masked values (and an empty form); the real ones are here,
    # AES-GCM encrypted with the hub key (kiosk.hub.case_fields).
    personal_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivery: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | submitted | failed
    case_no: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    platform_status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # from the platform's callbacks
    promised_by: Mapped[str | None] = mapped_column(String(10), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
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
    # what filed it (a case's receipt_no, "key-project:<project_no>", a collection): kept past its expiry
    bound_to: Mapped[str | None] = mapped_column(String(40), nullable=True)
    purged: Mapped[bool] = mapped_column(Boolean, default=False)  # bytes deleted (expired, terminated or relayed)


class CatalogEntry(Base):
    """The platform's service items, cached so the catalog answers while the platform is down."""

    __tablename__ = "catalog"
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


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
    # The hash chain (migration 0005, kiosk.hub.audit): the previous row's hash and this row's own.
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class HubSetting(Base):
    """Facts every hub process on this database must agree on (e.g. which upload volume they share)."""

    __tablename__ = "hub_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- 代办 (proxy handling): the outlet network, its people, requests, 委托书 and their event log (migration 0004) --


class Outlet(Base):
    """A place that handles 代办: county centre → town centre → village point, or a partner (post office, China Mobile)."""

    __tablename__ = "outlets"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # county | town | village | partner
    parent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("outlets.code"), nullable=True, index=True)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # item codes it may handle; [] = no restriction
    hours: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")  # the outlet's own address (not personal data)
    phone: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Person(Base):
    """A member of an outlet's staff (代办员, 窗口人员, 审批科长, 中心领导, supervisor); authenticates with their own token."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_code: Mapped[str] = mapped_column(String(32), ForeignKey("outlets.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # HMAC-SHA256, hub key
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # argon2
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProxyRequest(Base):
    """One 代办 request (kind `proxy`) or 办不成事 report (kind `complaint`): a queue row with a lease.

    Personal fields are AES-GCM ciphertexts (kiosk.hub.crypto); `applicant_masked` / `phone_masked` are what
    lists, logs and the CLI show."""

    __tablename__ = "proxy_requests"
    __table_args__ = (UniqueConstraint("idem_client", "idem_key", name="uq_proxy_requests_idempotency"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_no: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="proxy")  # proxy | complaint
    channel: Mapped[str] = mapped_column(String(16))  # kiosk | counter | hotline | miniprogram | field | other
    device_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outlet_code: Mapped[str] = mapped_column(String(32), ForeignKey("outlets.code"), index=True)
    item_code: Mapped[str] = mapped_column(String(64), default="")
    item_name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(16))  # remote_guidance | home_visit | full_proxy
    applicant_type: Mapped[str] = mapped_column(String(8))  # person | org
    applicant_enc: Mapped[bytes] = mapped_column(LargeBinary)
    applicant_masked: Mapped[str] = mapped_column(String(120))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(32))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # where a runner goes (home_visit)
    details_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the citizen's own words
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # normal | green (绿色通道 老弱病残孕)
    priority_rank: Mapped[int] = mapped_column(Integer, default=1)  # 0 green, 1 normal: claims take the lowest first
    green_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0 代办员, 1 窗口人员, 2 审批科长, 3 中心领导
    holder: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the holder's actor ("clerk:zhang")
    holder_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    holder_person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    sla_days: Mapped[int] = mapped_column(Integer)
    sla_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    sla_budget_s: Mapped[int] = mapped_column(Integer)  # working seconds between creation and the first due time
    sla_paused_s: Mapped[int] = mapped_column(Integer, default=0)  # working seconds spent in waiting_citizen
    sla_paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sla_stage: Mapped[int] = mapped_column(Integer, default=0)  # last threshold reported: 0, 70, 80, 90, 100 (breach)
    sla_stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # filed/closed
    receipt_no: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)  # the case, once filed
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{code, name, upload_id}]
    delivery: Mapped[str] = mapped_column(String(16), default="自取")  # result delivery: 自取 | 邮寄 | 网点代发
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why refused / cancelled
    created_by: Mapped[str] = mapped_column(String(100), index=True)
    created_by_token: Mapped[int] = mapped_column(Integer)
    idem_client: Mapped[str] = mapped_column(String(100))
    idem_key: Mapped[str] = mapped_column(String(200))
    idem_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProxyMandate(Base):
    """代办服务委托书: scope, expiry, the citizen's signature and both parties' IDs (encrypted), its lifecycle."""

    __tablename__ = "proxy_mandates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("proxy_requests.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | active | suspended | renewed | revoked | expired | completed
    scope_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_text: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    principal_enc: Mapped[bytes] = mapped_column(LargeBinary)  # the citizen: {name, id_number}
    principal_masked: Mapped[str] = mapped_column(String(120))
    agent_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the clerk: {name, id_number}
    agent_masked: Mapped[str | None] = mapped_column(String(120), nullable=True)
    agent_person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signature_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # PNG bytes
    signature_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProxyEvent(Base):
    """Append-only (the database refuses UPDATE and DELETE): who did what to a request, when, from which device."""

    __tablename__ = "proxy_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("proxy_requests.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    level: Mapped[int] = mapped_column(Integer, default=0)  # the request's level after the event
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- 重点项目 (enterprises' key projects): one 代办专员, one 档案 (dossier), tracked until 销号 (migration 0010) --


class KeyProject(Base):
    """An enterprise's key project: its organisation (统一社会信用代码), outlet, the one assigned 代办专员 and its
    status (open → closed by 销号; suspended in between). The contact person is personal data: encrypted."""

    __tablename__ = "key_projects"
    __table_args__ = (UniqueConstraint("idem_client", "idem_key", name="uq_key_projects_idempotency"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # {name, phone}, AES-GCM
    contact_masked: Mapped[str] = mapped_column(String(120), default="")
    outlet_code: Mapped[str] = mapped_column(String(32), ForeignKey("outlets.code"), index=True)
    specialist: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the 代办专员's actor ("runner:wang")
    specialist_person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    specialist_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | suspended | closed
    close_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    idem_client: Mapped[str] = mapped_column(String(100))
    idem_key: Mapped[str] = mapped_column(String(200))
    idem_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KeyProjectEntry(Base):
    """Append-only: one entry of a key project's 档案 — a linked proxy request (each in at most one project), a
    linked case (receipt_no), a note (encrypted) or an uploaded document."""

    __tablename__ = "key_project_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, ForeignKey("key_projects.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # proxy_request | case | note | document
    proxy_request_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("proxy_requests.id"), nullable=True,
                                                         unique=True)
    receipt_no: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    upload_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    title: Mapped[str] = mapped_column(String(200), default="")  # a document's name; never personal data
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the note's words, AES-GCM
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KeyProjectEvent(Base):
    """Append-only (the database refuses UPDATE and DELETE): who did what to a key project, when."""

    __tablename__ = "key_project_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, ForeignKey("key_projects.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
