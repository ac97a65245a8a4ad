"""代办 requests: intake, claims with leases, the state machine, the escalation ladder, reads with per-role
visibility, and the event log. The HTTP layer (kiosk.hub.proxy_api) only translates; every rule lives here.

Claims take the best request of the pool (`status IN ('new', 'released')`; an index ordered by priority, age,
id that holds only the pool, POOL_RANK) and mark it claimed with a lease. On PostgreSQL that is one statement
(CLAIM_PG) whose pick uses `FOR UPDATE SKIP LOCKED` — concurrent clerks skip each other's rows instead of
waiting — and which appends the events and sends the NOTIFY in the same round trip. SQLite selects then updates in one transaction (`BEGIN
IMMEDIATE` serialises writers), with the same rules. Held requests whose lease ended are returned to the pool by
the sweeper, and by a claim that finds the pool empty. A new request without materials is one statement on
PostgreSQL as well (CREATE_PG).
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
import tomllib
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.exc import IntegrityError

from kiosk.hub.auth import LEVEL_NAMES, LEVELS, Caller
from kiosk.hub.business_calendar import CST, BusinessCalendar
from kiosk.hub.crypto import FieldCipher
from kiosk.hub.db import earlier_or_taken, first_insert_wins, read_only
from kiosk.hub.models import Case, Outlet, ProxyEvent, ProxyMandate, ProxyRequest, Upload, utcnow
from kiosk.hub.notify import LogSmsGateway, SmsGateway, deliver
from kiosk.hub.outlets import OutletTree
from kiosk.hub.pg_statements import AsyncPgStatements, PgStatements
from kiosk.hub.proxy_feed import Feed
from kiosk.hub.proxy_schemas import (ClaimIn, EscalationIn, MandateActionIn, MandateIn, MandateOut, ProxyEventOut,
                                     ProxyRequestIn, ProxyRequestOut, SlaOut, TransitionIn)
from kiosk.hub.upload_purge import delete_files, mark_bound_purged
from kiosk.privacy.masking import mask_address, mask_document_number, mask_name, mask_phone, scrub

log = logging.getLogger("kiosk.hub.proxy")

ACTOR = "hub:proxy"
POOL = ("new", "released")
HELD = ("claimed", "in_progress", "waiting_citizen")
CLOSED = ("done", "cancelled", "refused")
CLOCK_RUNS = ("new", "released", "claimed", "in_progress")
# The pool index's first key (migration 0013): the priority rank in the pool, NULL outside it. Claims say
# `POOL_RANK IS NOT NULL` and order by it, written exactly as the index is, so the index serves them; the planner
# walks it in order whether or not the table has statistics yet (a partial index on `status IN (…)` was sorted
# whole when it had none).
POOL_RANK = "CASE WHEN status IN ('new', 'released') THEN priority_rank END"
# The held requests' index key (migration 0015): the lease's end of a held request, NULL otherwise. `HELD_LEASE <
# now` finds the lapsed leases from that index alone (the outlet kept out of it, as in the pick).
HELD_LEASE = "CASE WHEN status IN ('claimed', 'in_progress', 'waiting_citizen') THEN lease_until END"
CREATOR_ROLES = ("kiosk", "channel")
CHANNELS_FOR = {
    "kiosk": ("kiosk",),
    "channel": ("hotline", "miniprogram", "field", "other"),
    "outlet": ("counter", "field", "hotline"),
}
# action → (states it may start from, state it leads to; None = unchanged)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "start": (("claimed",), "in_progress"),
    "wait_citizen": (("in_progress",), "waiting_citizen"),
    "resume": (("waiting_citizen",), "in_progress"),
    "file": (("in_progress",), "filed"),
    "complete": (("in_progress", "filed"), "done"),
    "renew": (HELD, None),
    "release": (HELD, "released"),
    "cancel": (POOL + HELD, "cancelled"),
    "refuse": (POOL + HELD, "refused"),
}
EVENT_NAMES = {"start": "started", "wait_citizen": "waiting_citizen", "resume": "resumed", "file": "filed",
               "complete": "done", "release": "released", "cancel": "cancelled", "refuse": "refused"}
MANDATE_OPEN = ("pending", "active", "renewed", "suspended")
MANDATE_EFFECTIVE = ("active", "renewed")
MANDATE_TRANSITIONS = {
    "activate": (("pending",), "active"),
    "suspend": (("active", "renewed"), "suspended"),
    "renew": (("active", "renewed", "suspended", "expired"), "renewed"),
    "revoke": (("pending", "active", "renewed", "suspended", "expired"), "revoked"),
    "complete": (("active", "renewed"), "completed"),
}
MAX_SIGNATURE_BYTES = 300 * 1024
REQUEST_COLUMNS = tuple(c.key for c in ProxyRequest.__table__.columns)
# A request's columns as attributes, as one statement answered them (or as a create inserts them): what `out`,
# `feed_message` and the SMS read, without building an ORM object (its instrumentation costs ~30 µs a call).
RequestRow = types.SimpleNamespace
CREATE_COLUMNS = tuple(c for c in REQUEST_COLUMNS if c not in ("id", "request_no"))
# A new request on PostgreSQL, one statement in autocommit: its number needs its id, so the id is drawn first;
# a key used before inserts nothing (and answers no row); the events keep their order and NOTIFY goes on commit.
CREATE_PG = """
WITH nid AS (SELECT nextval(pg_get_serial_sequence('proxy_requests', 'id')) AS id),
ins AS (
    INSERT INTO proxy_requests (id, request_no, {columns})
    VALUES ((SELECT id FROM nid),
            COALESCE(CAST(:request_no AS varchar), (SELECT CAST(:no_prefix AS text)
                     || CASE WHEN id < 1000000 THEN lpad(id::text, 6, '0') ELSE id::text END FROM nid)),
            {values})
    ON CONFLICT (idem_client, idem_key) DO NOTHING
    RETURNING id, request_no
), logged AS (
    INSERT INTO proxy_events (request_id, at, actor, device, action, from_status, to_status, level, note, detail)
    SELECT ins.id, :now, e.actor, e.device, e.action, NULL, e.to_status, 0, '', e.detail
    FROM ins CROSS JOIN LATERAL (VALUES
        (1, CAST(:actor AS varchar), CAST(:device AS varchar), 'created', 'new', CAST(:created_detail AS json)),
        (2, CAST(:system AS varchar), CAST(NULL AS varchar), 'notified', NULL, CAST(:notified_detail AS json))
    ) AS e (n, actor, device, action, to_status, detail)
    ORDER BY e.n
    RETURNING id, action
)
SELECT ins.id, ins.request_no, logged.id AS event_id,
       CASE WHEN CAST(:notify_channel AS text) <> '' THEN pg_notify(CAST(:notify_channel AS text),
           json_build_array(json_build_object(
               'event_id', logged.id, 'request_id', ins.id, 'request_no', ins.request_no, 'action', 'created',
               'status', 'new', 'level', 0, 'outlet', CAST(:outlet_code AS text), 'kind', CAST(:kind AS text),
               'mode', CAST(:mode AS text), 'priority', CAST(:priority AS text), 'at', CAST(:at AS text),
               '_created_by', CAST(:created_by AS text), '_holder', NULL, '_origin', CAST(:origin AS text)))::text)
       END AS notified
FROM ins JOIN logged ON logged.action = 'created'
""".format(columns=", ".join(CREATE_COLUMNS),
           values=", ".join("CAST(:materials AS json)" if c == "materials" else f":{c}" for c in CREATE_COLUMNS))
# The claim on PostgreSQL, one statement in autocommit (its own transaction, one round trip): what _claim_next and
# _take do on SQLite. `pick` locks the best row of the pool and skips rows other claimers hold, so two clerks never
# get the same request; the events keep their order (claimed, notified, and started when the claim starts it too:
# `start`, never a 全程代办, whose 委托书 its own start checks) and the NOTIFY is sent on commit.
# When the pool is empty the single row answered has id NULL and says whether a held request's lease lapsed.
# The pick walks the pool index (POOL_RANK) in order and stops at the first free row of the clerk's outlets;
# `outlet_code || ''` keeps the planner off the outlet index, which holds every request the outlets ever had:
# on a table without statistics yet it read that index and sorted what it found (1-7 ms a claim with 3,000
# waiting, 0.2-0.4 with the walk; docs/performance.md).
CLAIM_PG = """
WITH pick AS (
    SELECT id, status AS prev FROM proxy_requests
    WHERE ({pool_rank}) IS NOT NULL AND outlet_code || '' = ANY(:codes){{filters}}
    ORDER BY ({pool_rank}), created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE proxy_requests AS r
    SET status = CASE WHEN CAST(:start AS boolean) AND NOT (r.mode = 'full_proxy' AND r.kind = 'proxy')
                      THEN 'in_progress' ELSE 'claimed' END,
        holder = :holder, holder_token_id = :token_id, holder_person_id = :person_id,
        lease_until = :lease_until, claims = COALESCE(r.claims, 0) + 1, updated_at = :now
    FROM pick WHERE r.id = pick.id
    RETURNING r.*
), logged AS (
    INSERT INTO proxy_events (request_id, at, actor, device, action, from_status, to_status, level, note, detail)
    SELECT taken.id, :now, e.actor, e.device, e.action, e.from_status, e.to_status, taken.level, '', e.detail
    FROM taken JOIN pick ON pick.id = taken.id CROSS JOIN LATERAL (VALUES
        (1, CAST(:actor AS varchar), CAST(:device AS varchar), 'claimed', pick.prev, 'claimed',
         CAST(:claimed_detail AS json)),
        (2, CAST(:system AS varchar), CAST(NULL AS varchar), 'notified', NULL, NULL,
         json_build_object('template', 'claimed', 'phone', taken.phone_masked, 'gateway', CAST(:gateway AS text))),
        (3, CAST(:actor AS varchar), CAST(:device AS varchar), 'started', 'claimed', 'in_progress',
         CAST('{{{{}}}}' AS json))
    ) AS e (n, actor, device, action, from_status, to_status, detail)
    WHERE e.n < 3 OR taken.status = 'in_progress'
    ORDER BY e.n
    RETURNING id, action
)
SELECT taken.*, logged.id AS event_id, (SELECT s.id FROM logged AS s WHERE s.action = 'started') AS started_event_id,
       (SELECT max(m.id) FROM proxy_mandates AS m WHERE m.request_id = taken.id) AS mandate_id,
       CASE WHEN taken.id IS NULL THEN EXISTS (
           SELECT 1 FROM proxy_requests
           WHERE ({held_lease}) < :now AND outlet_code || '' = ANY(:codes)) END AS lapsed,
       CASE WHEN taken.id IS NOT NULL AND CAST(:channel AS text) <> '' THEN pg_notify(CAST(:channel AS text),
           (SELECT json_agg(json_build_object(
               'event_id', m.id, 'request_id', taken.id, 'request_no', taken.request_no, 'action', m.action,
               'status', CASE WHEN m.action = 'claimed' THEN 'claimed' ELSE taken.status END, 'level', taken.level,
               'outlet', taken.outlet_code, 'kind', taken.kind, 'mode', taken.mode, 'priority', taken.priority,
               'at', CAST(:at AS text), '_created_by', taken.created_by, '_holder', taken.holder,
               '_origin', CAST(:origin AS text)) ORDER BY m.id)
            FROM logged AS m WHERE m.action <> 'notified')::text)
       END AS notified
FROM (SELECT 1) AS one
LEFT JOIN taken ON true
LEFT JOIN logged ON logged.action = 'claimed'
""".format(pool_rank=POOL_RANK, held_lease=HELD_LEASE)

# The holder's everyday steps on PostgreSQL (start, complete), one statement in autocommit like the claim: the
# row changes only if this caller holds it with a live lease, it is in a state the action starts from, it needs
# no 委托书 check (not 全程代办) and its clock is not paused; the events keep their order and NOTIFY goes on commit.
# No row answered: the general path (ProxyService.transition) decides, and gives the precise 403/409.
TRANSITION_PG = """
WITH cur AS (
    SELECT id, status AS prev FROM proxy_requests WHERE id = :id FOR UPDATE
), moved AS (
    UPDATE proxy_requests AS r
    SET status = CAST(:target AS varchar), updated_at = :now{sets}
    FROM cur
    WHERE r.id = cur.id AND r.holder = :actor AND r.lease_until > :now AND r.status = ANY(:sources)
      AND r.outlet_code = ANY(:codes) AND r.sla_paused_at IS NULL
      AND NOT (r.mode = 'full_proxy' AND r.kind = 'proxy'){guard}
    RETURNING r.*, cur.prev
), logged AS (
    INSERT INTO proxy_events (request_id, at, actor, device, action, from_status, to_status, level, note, detail)
    SELECT moved.id, :now, e.actor, e.device, e.action, e.from_status, e.to_status, moved.level, e.note, e.detail
    FROM moved CROSS JOIN LATERAL (VALUES
        (1, CAST(:actor AS varchar), CAST(:device AS varchar), CAST(:event AS varchar), moved.prev,
         CAST(:target AS varchar), CAST(:note AS text), CAST('{{}}' AS json)),
        (2, CAST(:system AS varchar), CAST(NULL AS varchar), 'notified', NULL, NULL, '',
         json_build_object('template', CAST(:template AS text), 'phone', moved.phone_masked,
                           'gateway', CAST(:gateway AS text)))
    ) AS e (n, actor, device, action, from_status, to_status, note, detail)
    WHERE e.n = 1 OR CAST(:template AS text) <> ''
    ORDER BY e.n
    RETURNING id, action
)
SELECT moved.*, logged.id AS event_id,
       (SELECT max(m.id) FROM proxy_mandates AS m WHERE m.request_id = moved.id) AS mandate_id,
       CASE WHEN CAST(:channel AS text) <> '' THEN pg_notify(CAST(:channel AS text),
           json_build_array(json_build_object(
               'event_id', logged.id, 'request_id', moved.id, 'request_no', moved.request_no,
               'action', CAST(:event AS text), 'status', moved.status, 'level', moved.level,
               'outlet', moved.outlet_code, 'kind', moved.kind, 'mode', moved.mode, 'priority', moved.priority,
               'at', CAST(:at AS text), '_created_by', moved.created_by, '_holder', moved.holder,
               '_origin', CAST(:origin AS text)))::text)
       END AS notified
FROM moved JOIN logged ON logged.action = CAST(:event AS varchar)
"""
FAST_TRANSITIONS = {
    "start": ("", "", ""),
    # done: the clock stops and the lease ends; a request with a 委托书 still in force, or with scans to delete,
    # takes the general path
    "complete": (", closed_at = :now, lease_until = NULL, sla_stopped_at = COALESCE(r.sla_stopped_at, :now)",
                 " AND NOT EXISTS (SELECT 1 FROM proxy_mandates AS m WHERE m.request_id = r.id"
                 " AND m.status IN ('active', 'renewed')) AND json_array_length(r.materials) = 0", "done"),
}


class ProxyError(Exception):
    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict:
        return {"detail": self.detail, **self.extra}

    def headers(self) -> dict[str, str] | None:
        return None


class Forbidden(ProxyError):
    status_code = 403


class NotFound(ProxyError):
    status_code = 404


class Conflict(ProxyError):
    status_code = 409


class Busy(Conflict):
    """Another call with the same Idempotency-Key is still at work (it keeps winning the insert's race): `409` with
    `Retry-After`, which tells a kiosk's outbox to send it again rather than give it up."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="in_progress")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class Unprocessable(ProxyError):
    status_code = 422


class Unavailable(ProxyError):
    status_code = 503


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass
class ProxySettings:
    lease_s: int = 1800
    sweep_s: float = 30.0
    escalate_at: tuple[int, ...] = (90, 100)
    sla_days: dict[str, int] = field(default_factory=lambda: {"remote_guidance": 1, "home_visit": 3,
                                                               "full_proxy": 5, "complaint": 3})
    calendar: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, hub_dir: Path | None, overrides: dict[str, Any] | None = None,
             env: dict[str, str] | None = None) -> "ProxySettings":
        """Defaults, then `proxy.toml` (KIOSK_HUB_PROXY_CONFIG or <hub dir>/proxy.toml), then `overrides`."""
        import os

        from kiosk.errors import InvalidInput

        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        path = Path(env["KIOSK_HUB_PROXY_CONFIG"]) if env.get("KIOSK_HUB_PROXY_CONFIG") else (
            Path(hub_dir) / "proxy.toml" if hub_dir else None)
        if path is not None and path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"cannot read the 代办 configuration {path}: {exc}",
                                   "fix the file (TOML, see docs/proxy-api.md) or remove it") from None
        data.update(overrides or {})
        out = cls()
        try:
            if "lease_s" in data:
                out.lease_s = int(data["lease_s"])
            if "sweep_s" in data:
                out.sweep_s = float(data["sweep_s"])
            if "escalate_at" in data:
                out.escalate_at = tuple(int(x) for x in data["escalate_at"])
            if "sla_days" in data:
                out.sla_days = {**out.sla_days, **{k: int(v) for k, v in dict(data["sla_days"]).items()}}
            if "calendar" in data:
                out.calendar = dict(data["calendar"])
                BusinessCalendar.from_config(out.calendar)  # dates must parse
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"the 代办 configuration has a bad value: {exc}",
                               "see docs/proxy-api.md for the keys and their types") from None
        if out.lease_s < 1 or out.sweep_s <= 0 or any(d < 0 for d in out.sla_days.values()):
            raise InvalidInput("lease_s and sweep_s must be positive, sla_days not negative",
                               "fix proxy.toml")
        if any(t not in (70, 80, 90, 100) for t in out.escalate_at):
            raise InvalidInput("escalate_at may hold only 70, 80, 90 and 100", "fix proxy.toml")
        return out


def materials_bound_to(request_id: int) -> str:
    """What a 代办 request's uploads are bound to (`uploads.bound_to`): kept while it is open."""
    return f"proxy-request:{request_id}"


class _Tx:
    """One transaction and what to do once it committed: feed events to publish, messages to send."""

    def __init__(self, session) -> None:
        self.s = session
        self.feed: list[dict] = []
        self.pending: list[tuple[ProxyEvent, dict]] = []
        self.sms: list[tuple[str, str, dict[str, str]]] = []
        self.purged: list[str] = []  # uploads whose files go once the transaction committed


def fingerprint(body: ProxyRequestIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ProxyService:
    def __init__(self, hub, cipher: FieldCipher, settings: ProxySettings | None = None,
                 gateway: SmsGateway | None = None, feed: Feed | None = None) -> None:
        self.hub = hub
        self.cipher = cipher
        self.settings = settings or ProxySettings()
        self.calendar = BusinessCalendar.from_config(self.settings.calendar)
        self.gateway = gateway or LogSmsGateway()
        self.feed = feed or Feed()
        self.tree = OutletTree(hub.sessions)
        self.is_pg = hub.engine.dialect.name == "postgresql"
        # one-statement work (the claim on PostgreSQL) runs without BEGIN/COMMIT round trips; same pool
        self._pg = PgStatements(hub.engine) if self.is_pg else None
        # a clerk's claim, start and complete on the event loop (claim_on_loop, transition_on_loop)
        self._apg = AsyncPgStatements(self._pg) if self.is_pg else None
        self.channel: str | None = None  # the NOTIFY channel on PostgreSQL (set by install)
        self.closing = threading.Event()  # set when the hub shuts down: open feeds end
        self._catalog: tuple[float, dict[str, dict]] = (0.0, {})
        self._catalog_loaded = 0.0
        self._catalog_lock = threading.Lock()
        self._outlet_items: tuple[float, dict[str, list[str]]] = (0.0, {})

    # -- transactions and events ---------------------------------------------------------------
    @contextlib.contextmanager
    def tx(self):
        with self.hub.sessions() as s:
            t = _Tx(s)
            with s.begin():
                yield t
                if t.pending:
                    s.flush()  # one flush gives every event of the transaction its id
                    for ev, msg in t.pending:
                        msg["event_id"] = ev.id
                        t.feed.append(msg)
                    if self.is_pg and self.channel:  # delivered to the other hub processes on commit
                        for i in range(0, len(t.pending), 10):  # NOTIFY payloads stay far below 8000 bytes
                            batch = [msg for _, msg in t.pending[i:i + 10]]
                            s.execute(select(func.pg_notify(self.channel, json.dumps(batch, ensure_ascii=False))))
        if t.purged:
            delete_files(self.hub.upload_dir, t.purged)  # what cannot go now, the relay's file sweep deletes later
        for event in t.feed:
            self.feed.publish(event)
        for phone, template, params in t.sms:
            deliver(self.gateway, phone, template, params)

    def event(self, t: _Tx, req: ProxyRequest, actor: str, action: str, *, from_status: str | None = None,
              to_status: str | None = None, note: str = "", device: str | None = None, feed: bool = True,
              **detail: Any) -> ProxyEvent:
        now = utcnow()
        ev = ProxyEvent(request_id=req.id, at=now, actor=actor, device=device, action=action,
                        from_status=from_status, to_status=to_status, level=req.level, note=note,
                        detail=detail)
        t.s.add(ev)
        if feed:  # the request as it is now; the event's id is filled in when the transaction flushes
            t.pending.append((ev, self.feed_message(req, action, now)))
        return ev

    def feed_message(self, req: ProxyRequest, action: str, now: dt.datetime, event_id: int | None = None) -> dict:
        """The live feed's message for an event of `req`, the request as it is now (the NOTIFY statements of
        CREATE_PG, CLAIM_PG and TRANSITION_PG build the same document in SQL for the other hub processes)."""
        return {"event_id": event_id, "request_id": req.id, "request_no": req.request_no, "action": action,
                "status": req.status, "level": req.level, "outlet": req.outlet_code, "kind": req.kind,
                "mode": req.mode, "priority": req.priority, "at": iso(now), "_created_by": req.created_by,
                "_holder": req.holder, "_origin": self.feed.origin}

    def notify(self, t: _Tx, req: ProxyRequest, template: str, **params: str) -> None:
        """Record a notification to the citizen (event `notified`) and send it once the change committed."""
        phone = self.cipher.decrypt_text(req.phone_enc, "proxy_requests.phone_enc")
        params = {"request_no": req.request_no, **{k: str(v) for k, v in params.items()}}
        self.event(t, req, ACTOR, "notified", feed=False, template=template, phone=mask_phone(phone),
                   gateway=getattr(self.gateway, "name", type(self.gateway).__name__))
        t.sms.append((phone, template, params))

    # -- who may do what -----------------------------------------------------------------------
    @staticmethod
    def scope(caller: Caller) -> str:
        if caller.role in CREATOR_ROLES:
            return "creator"
        if caller.role in LEVELS:
            if not caller.outlet_code:
                raise Forbidden(f"this {caller.role} token is not bound to an outlet; create one with"
                                " 'kiosk hub token create --role ROLE --name N --outlet CODE'")
            return "outlet"
        if caller.role == "supervisor":
            return "all"
        raise Forbidden(f"role {caller.role!r} has no access to 代办 requests")

    def subtree(self, caller: Caller, session=None) -> list[str]:
        return self.tree.subtree(caller.outlet_code, session)

    def visible(self, caller: Caller, req: ProxyRequest, codes: list[str] | None = None, session=None) -> None:
        """Raise unless `caller` may read `req` (404 for a creator that did not create it)."""
        scope = self.scope(caller)
        if scope == "creator":
            if req.created_by != caller.actor:
                raise NotFound(f"no proxy request {req.id} among those this token created")
        elif scope == "outlet":
            codes = codes if codes is not None else self.subtree(caller, session)
            if req.outlet_code not in codes:
                raise Forbidden(f"request {req.id} belongs to outlet {req.outlet_code}, outside the subtree of"
                                f" {caller.outlet_code}", code="other_outlet")
            if req.level > caller.level and req.holder != caller.actor:
                raise Forbidden(f"request {req.id} is at level {req.level} ({LEVEL_NAMES[req.level]}), above"
                                f" yours ({LEVEL_NAMES[caller.level]})", code="above_level", level=req.level)

    def _holds(self, caller: Caller, req: ProxyRequest, now: dt.datetime) -> bool:
        if req.holder != caller.actor:
            return False
        if req.status in HELD and (req.lease_until is None or aware(req.lease_until) <= now):
            raise Forbidden(f"your lease on request {req.id} ended at {iso(req.lease_until)}; it went back to the"
                            " pool: claim it again", status=req.status, level=req.level, code="lease_lapsed")
        return True

    def _owner(self, caller: Caller, req: ProxyRequest) -> bool:
        """An outlet role of the subtree at the request's level (≥ 1): the escalation level that owns it now."""
        return caller.level is not None and req.level >= 1 and caller.level == req.level

    def _pool_actor(self, caller: Caller, req: ProxyRequest) -> bool:
        return caller.level is not None and req.status in POOL and caller.level == req.level

    # -- intake --------------------------------------------------------------------------------
    def create(self, caller: Caller, key: str, body: ProxyRequestIn, device: str | None) -> tuple[int, dict]:
        device_id, item_name, fp = self._admit(caller, body)
        if self.is_pg and not body.materials:
            done = self._insert_pg(caller, key, body, fp, device_id, item_name, device)
            if done is not None:
                return done
        return first_insert_wins(lambda: self._insert(caller, key, body, fp, device_id, item_name, device),
                                 lambda: Busy("a request with this Idempotency-Key is being processed; retry"
                                              " shortly"))

    async def create_on_loop(self, caller: Caller, key: str, body: ProxyRequestIn,
                             device: str | None) -> tuple[int, dict] | None:
        """A new request without materials created on the event loop (PostgreSQL, CREATE_PG) when every check
        answers from memory; None when `create` on a thread must answer (a cache to reload, materials to bind,
        a replay of the key, a request number taken, an item or outlet it would refuse)."""
        if self._apg is None or body.materials or not self._admits_from_memory(body):
            return None
        device_id, item_name, fp = self._admit(caller, body)
        req, params, now = self._create_statement(caller, key, body, fp, device_id, item_name, device)
        try:
            row = await self._apg.one(CREATE_PG, params)
        except IntegrityError:
            return None  # the request number is taken: the general path says so
        if row is None:
            return None  # this Idempotency-Key was used before (or is being used right now)
        if isinstance(self.gateway, LogSmsGateway):
            return self._created(row, req, body, now)
        return await anyio.to_thread.run_sync(self._created, row, req, body, now)

    def _admits_from_memory(self, body: ProxyRequestIn) -> bool:
        """`_admit` would accept `body` without the database: the outlet tree, the outlets' items and the catalog
        are fresh and know its outlet and item, and the outlet is entrusted with the item."""
        if not self.tree.knows(body.outlet):
            return False
        if body.kind == "complaint" and not body.item_code:
            return True
        items = self._fresh_items(body.outlet)
        if self._fresh_item(body.item_code) is None or items is None:
            return False
        return body.kind != "proxy" or not items or body.item_code in items

    def _admit(self, caller: Caller, body: ProxyRequestIn) -> tuple[str | None, str, str]:
        """Who may create this request, for which channel, outlet and item: (device id, item name, fingerprint),
        or the refusal."""
        scope = self.scope(caller)
        if scope == "all":
            raise Forbidden("a supervisor token reads the queue; requests come from kiosks, channels and clerks")
        allowed = CHANNELS_FOR[caller.role if scope == "creator" else "outlet"]
        if body.channel not in allowed:
            raise Forbidden(f"a {caller.role} token creates requests for channel {' or '.join(allowed)},"
                            f" not {body.channel}")
        device_id = body.device_id
        if caller.role == "kiosk":
            device_id = device_id or caller.name
            if device_id != caller.name:
                raise Forbidden(f"this token belongs to device {caller.name}, not {device_id}")
            if body.request_no and not body.request_no.startswith(caller.name + "-"):
                raise Forbidden(f"request_no {body.request_no} was not issued by device {caller.name}")
        if not self.tree.active(body.outlet):
            raise Unprocessable(f"outlet {body.outlet} is not registered or not active; GET /api/v1/outlets lists"
                                " them")
        if scope == "outlet" and body.outlet not in self.subtree(caller):
            raise Forbidden(f"outlet {body.outlet} is outside the subtree of {caller.outlet_code}")
        return device_id, self._check_item(body), fingerprint(body)

    def _check_item(self, body: ProxyRequestIn) -> str:
        """The catalog's verdict on the item: refuse what needs the person; the outlet's entrusted scope."""
        if body.kind == "complaint" and not body.item_code:
            return body.item_name
        item = self._catalog_item(body.item_code)
        if item is None:
            if body.kind == "complaint":
                return body.item_name
            raise Unprocessable(f"item {body.item_code} is not in the service catalog; GET /api/v1/catalog lists"
                                " the items")
        name = str(item.get("name") or body.item_name)
        if body.kind == "proxy":
            if item.get("in_person_required"):
                raise Unprocessable(f"{name} ({body.item_code}) 必须本人办理: the applicant must come in person"
                                    " (in_person_required), so it cannot be handled by proxy; the citizen can use"
                                    " the kiosk or a window", reason="in_person_required")
            if item.get("proxy_allowed") is False:
                raise Unprocessable(f"{name} ({body.item_code}) 不可代办: this item may not be handled by proxy"
                                    " (proxy_allowed: false); the citizen can use the kiosk or a window",
                                    reason="proxy_not_allowed")
            items = self._items_of(body.outlet)
            if items and body.item_code not in items:
                able = [c for c in self.tree.ancestors(body.outlet)
                        if not self._items_of(c) or body.item_code in self._items_of(c)]
                hint = f"; outlets above it that are: {', '.join(able)}" if able else ""
                raise Unprocessable(f"outlet {body.outlet} is not entrusted with item {body.item_code}{hint}",
                                    reason="outside_outlet_scope")
        return name

    OUTLET_ITEMS_TTL_S = 5.0  # as the outlet tree: `kiosk hub outlet add` changes reach every hub within seconds

    def _fresh_items(self, code: str) -> list[str] | None:
        """The outlet's items from the copy in memory while it is fresh; None when the copy must be read again."""
        loaded, items = self._outlet_items
        return items[code] if time.monotonic() - loaded < self.OUTLET_ITEMS_TTL_S and code in items else None

    def _items_of(self, code: str) -> list[str]:
        """The items an outlet is entrusted with (empty: no restriction), from a copy a few seconds old at most."""
        fresh = self._fresh_items(code)
        if fresh is not None:
            return fresh
        with self.hub.sessions() as s:
            read_only(s)
            items = {c: list(i or []) for c, i in s.execute(select(Outlet.code, Outlet.items))}
        self._outlet_items = (time.monotonic(), items)
        return items.get(code, [])

    CATALOG_TTL_S = 60.0

    def _fresh_item(self, item_code: str) -> dict | None:
        """The item from the catalog's copy in memory while it is fresh; None when it must be looked up again."""
        expires, index = self._catalog
        return index.get(item_code) if time.monotonic() < expires else None

    def _catalog_item(self, item_code: str) -> dict | None:
        """The item from the hub's catalog cache (kiosk.hub.catalog), indexed in memory for a minute; an
        unknown code reloads once, so an item the platform just published is found."""
        from fastapi import HTTPException

        from kiosk.hub.catalog import load_catalog

        item = self._fresh_item(item_code)
        if item is not None:
            return item
        with self._catalog_lock:  # one thread loads; the others wait for its answer instead of loading again
            item = self._fresh_item(item_code)
            if item is not None:
                return item
            now = time.monotonic()
            expires, index = self._catalog
            if now < expires and now - self._catalog_loaded < 5.0:
                return None  # reloaded a moment ago: the code is unknown
            try:
                items, _source = load_catalog(self.hub)
            except HTTPException as exc:
                raise Unavailable(str(exc.detail)) from None
            index = {str(i.get("item_code")): i for i in items}
            self._catalog = (now + self.CATALOG_TTL_S, index)
            self._catalog_loaded = now
            return index.get(item_code)

    def _new_request(self, caller: Caller, key: str, body: ProxyRequestIn, fp: str, device_id, item_name,
                     materials: list[dict], now: dt.datetime) -> dict[str, Any]:
        """The new request's columns (personal fields encrypted, SLA due time), all but its id."""
        days = self.settings.sla_days.get("complaint" if body.kind == "complaint" else body.mode, 3)
        due = self.calendar.due(now, days)
        a = body.applicant
        if hasattr(a, "uscc"):
            applicant = {"type": "org", "org_name": a.org_name, "uscc": a.uscc, "contact_name": a.contact_name}
            display = f"{a.org_name[:60]} {a.uscc}"
        else:
            applicant = {"type": "person", "name": a.name, "id_number": a.id_number, "card_type": a.card_type}
            display = f"{mask_name(a.name)} {mask_document_number(a.id_number)}"
        return dict(
            request_no=body.request_no or f"tmp-{uuid.uuid4().hex}", kind=body.kind, channel=body.channel,
            device_id=device_id, outlet_code=body.outlet, item_code=body.item_code,
            item_name=item_name or body.item_name, mode=body.mode, applicant_type=applicant["type"],
            applicant_enc=self.cipher.encrypt_json(applicant, "proxy_requests.applicant_enc"),
            applicant_masked=display[:120],
            phone_enc=self.cipher.encrypt(body.contact_phone, "proxy_requests.phone_enc"),
            phone_masked=mask_phone(body.contact_phone)[:32],
            address_enc=self.cipher.encrypt(body.address, "proxy_requests.address_enc") if body.address else None,
            details_enc=self.cipher.encrypt(body.details, "proxy_requests.details_enc") if body.details else None,
            priority=body.priority, priority_rank=0 if body.priority == "green" else 1,
            green_reason=body.green_reason, status="new", level=0, claims=0,
            sla_days=days, sla_due_at=due, sla_budget_s=max(1, self.calendar.working_seconds(now, due)),
            sla_paused_s=0, sla_stage=0, materials=materials, delivery=body.delivery,
            created_by=caller.actor, created_by_token=caller.token_id, idem_client=caller.actor, idem_key=key,
            idem_fingerprint=fp, created_at=now, updated_at=now, reason=None, holder=None,
            holder_token_id=None, holder_person_id=None, lease_until=None, sla_paused_at=None,
            sla_stopped_at=None, receipt_no=None, closed_at=None)

    def _insert_pg(self, caller, key, body: ProxyRequestIn, fp, device_id, item_name,
                   device) -> tuple[int, dict] | None:
        """PostgreSQL, for a request without materials: the insert, its `created` and `notified` events and the
        NOTIFY in one statement (CREATE_PG). None when the key was used before or the request number is taken:
        the caller then takes the general path, which answers the replay or the conflict."""
        req, params, now = self._create_statement(caller, key, body, fp, device_id, item_name, device)
        try:
            row = self._pg.one(CREATE_PG, params)
        except IntegrityError:
            return None  # the request number is taken
        if row is None:
            return None  # this Idempotency-Key was used before (or is being used right now)
        return self._created(row, req, body, now)

    def _create_statement(self, caller, key, body: ProxyRequestIn, fp, device_id, item_name,
                          device) -> tuple[RequestRow, dict, dt.datetime]:
        now = utcnow()
        cols = self._new_request(caller, key, body, fp, device_id, item_name, [], now)
        req = RequestRow(id=None, **cols)
        params = {c: cols[c] for c in CREATE_COLUMNS}
        params["materials"] = "[]"
        params.update(
            no_prefix=f"HUB-{now.astimezone(CST):%Y%m%d}-", now=now, actor=caller.actor, device=device or device_id,
            created_detail=json.dumps({"channel": body.channel, "kind": body.kind, "mode": body.mode,
                                       "priority": body.priority}, ensure_ascii=False),
            notified_detail=json.dumps({"template": "received", "phone": req.phone_masked,
                                        "gateway": getattr(self.gateway, "name", type(self.gateway).__name__)},
                                       ensure_ascii=False),
            system=ACTOR, notify_channel=self.channel or "", at=iso(now), origin=self.feed.origin)
        params["request_no"] = body.request_no
        return req, params, now

    def _created(self, row: dict, req: RequestRow, body: ProxyRequestIn, now: dt.datetime) -> tuple[int, dict]:
        """After CREATE_PG inserted a request: the feed, the citizen's SMS, the answer."""
        req.id, req.request_no = row["id"], row["request_no"]
        self.feed.publish(self.feed_message(req, "created", now, row["event_id"]))
        deliver(self.gateway, body.contact_phone, "received",
                {"request_no": req.request_no, "outlet_name": self._outlet_name(None, req.outlet_code)})
        log.info("proxy request received", extra={"request_no": req.request_no, "outlet": req.outlet_code,
                                                   "kind": req.kind, "mode": req.mode})
        return 201, self.out(None, req, mandate=None, now=now)

    def _insert(self, caller, key, body: ProxyRequestIn, fp, device_id, item_name, device) -> tuple[int, dict]:
        with self.tx() as t:
            s = t.s
            old, taken = earlier_or_taken(
                lambda: s.scalar(select(ProxyRequest).where(ProxyRequest.idem_client == caller.actor,
                                                            ProxyRequest.idem_key == key)),
                lambda: bool(body.request_no) and s.scalar(select(ProxyRequest.id).where(
                    ProxyRequest.request_no == body.request_no)) is not None)
            if old is not None:
                if old.idem_fingerprint != fp:
                    raise Unprocessable("this Idempotency-Key was used with a different request body; use a new key"
                                        " for a new request")
                return 200, self.out(s, old)
            if taken:
                raise Conflict(f"request number {body.request_no} was already used under another Idempotency-Key")
            materials = self._materials(s, caller, body)
            now = utcnow()
            req = ProxyRequest(**self._new_request(caller, key, body, fp, device_id, item_name, materials, now))
            s.add(req)
            s.flush()
            if not body.request_no:
                req.request_no = f"HUB-{now.astimezone(CST):%Y%m%d}-{req.id:06d}"
            for m in materials:  # kept while the request is open, past the upload's own expiry
                s.get(Upload, m["upload_id"]).bound_to = materials_bound_to(req.id)
            self.event(t, req, caller.actor, "created", to_status="new", device=device or device_id,
                       channel=body.channel, kind=body.kind, mode=body.mode, priority=body.priority)
            self.notify(t, req, "received", outlet_name=self._outlet_name(s, req.outlet_code))
            log.info("proxy request received", extra={"request_no": req.request_no, "outlet": req.outlet_code,
                                                       "kind": req.kind, "mode": req.mode})
            return 201, self.out(s, req)

    def _materials(self, s, caller: Caller, body: ProxyRequestIn) -> list[dict]:
        from kiosk.hub.tus import upload_id_from_url

        out = []
        for m in body.materials:
            upload_id = upload_id_from_url(m.upload_url)
            up = s.get(Upload, upload_id) if upload_id else None
            if up is None or up.owner != caller.actor:
                raise Unprocessable(f"material {m.code}: no upload at {m.upload_url}; upload the file to /files/"
                                    " first with this token")
            if up.purged or aware(up.expires_at) < utcnow():
                raise Unprocessable(f"material {m.code}: the upload expired; upload the file again")
            if up.offset != up.length or up.sha256 is None:
                raise Unprocessable(f"material {m.code}: the upload is incomplete ({up.offset} of {up.length} bytes);"
                                    " resume it first")
            if up.bound_to:
                raise Unprocessable(f"material {m.code}: that upload is already filed ({up.bound_to}); upload the"
                                    " file again for this request")
            out.append({"code": m.code, "name": m.name, "upload_id": up.id, "sha256": up.sha256,
                        "bytes": up.length})
        return out

    def _outlet_name(self, s, code: str) -> str:
        return self.tree.name(code, s)

    # -- claims --------------------------------------------------------------------------------
    def claim(self, caller: Caller, body: ClaimIn, device: str | None = None) -> dict | None:
        if self.scope(caller) != "outlet":
            raise Forbidden(f"role {caller.role!r} does not claim requests; clerks, runners and the escalation"
                            " levels do, with a token bound to their outlet")
        codes = self.subtree(caller)
        if body.outlet is not None:
            if body.outlet not in codes:
                raise Forbidden(f"outlet {body.outlet} is outside the subtree of {caller.outlet_code}",
                                code="other_outlet")
            codes = self.tree.subtree(body.outlet)
        lease_s = body.lease_s or self.settings.lease_s
        if body.id is not None:
            return self._claim_one(caller, body.id, codes, lease_s, device, body.start)
        claim_next = self._claim_next_pg if self.is_pg else self._claim_next
        for attempt in range(2):
            doc, lapsed = claim_next(caller, body, codes, lease_s, device)
            if doc is not None or attempt == 1 or not lapsed:
                return doc
            if self.expire_leases(codes) == 0:  # an empty pool: were there held requests whose lease ended?
                return None
        return None

    def _claim_next_pg(self, caller, body: ClaimIn, codes, lease_s, device) -> tuple[dict | None, bool]:
        """PostgreSQL: the claim as one statement in one round trip (see CLAIM_PG): pick and lock the best row
        of the pool (SKIP LOCKED), take it with a lease, append its `claimed` and `notified` events, NOTIFY the
        other hub processes, and, when the pool is empty, say whether a held request's lease has lapsed."""
        sql, params, now = self._claim_statement(caller, body, codes, lease_s, device)
        row = self._pg.one(sql, params)
        if row["id"] is None:
            return None, bool(row["lapsed"])
        return self._claimed(row, now), False

    def _claim_statement(self, caller, body: ClaimIn, codes, lease_s, device) -> tuple[str, dict, dt.datetime]:
        now = utcnow()
        lease_until = now + dt.timedelta(seconds=lease_s)
        filters = ""
        params: dict[str, Any] = {
            "codes": list(codes), "holder": caller.actor, "token_id": caller.token_id, "person_id": caller.person_id,
            "lease_until": lease_until, "now": now, "actor": caller.actor, "device": device,
            "claimed_detail": json.dumps({"lease_until": iso(lease_until)}), "system": ACTOR,
            "gateway": getattr(self.gateway, "name", type(self.gateway).__name__), "channel": self.channel or "",
            "at": iso(now), "origin": self.feed.origin, "start": body.start}
        if body.mode is not None:
            filters += " AND mode = :mode"
            params["mode"] = body.mode
        if body.kind is not None:
            filters += " AND kind = :kind"
            params["kind"] = body.kind
        return CLAIM_PG.format(filters=filters), params, now

    def _claimed(self, row: dict, now: dt.datetime) -> dict:
        """After CLAIM_PG took a request: the feed, the citizen's SMS, the answer."""
        req = RequestRow(**row)
        self.feed.publish({**self.feed_message(req, "claimed", now, row["event_id"]), "status": "claimed"})
        if row["started_event_id"] is not None:
            self.feed.publish(self.feed_message(req, "started", now, row["started_event_id"]))
        phone = self.cipher.decrypt_text(req.phone_enc, "proxy_requests.phone_enc")
        deliver(self.gateway, phone, "claimed", {"request_no": req.request_no,
                                                 "outlet_name": self._outlet_name(None, req.outlet_code)})
        return self._out_of_row(req, row, now)

    # -- a clerk's hot path on the event loop (PostgreSQL) ---------------------------------------
    def _on_loop(self, caller: Caller) -> bool:
        """A claim or a start/complete can run on the event loop: PostgreSQL, a token of the escalation levels
        bound to an outlet, and the outlet tree in memory (reloading it reads the database: a thread does that)."""
        return (self._apg is not None and caller.level is not None and caller.role in LEVELS
                and bool(caller.outlet_code) and self.tree.fresh())

    async def _after(self, fn, row: dict, *args):
        """What follows a statement (feed, SMS, the answer): inline when it needs only memory — no 委托书 to read,
        the log gateway — else on a thread (a gateway that calls out must not hold the event loop)."""
        if row.get("mandate_id") is None and isinstance(self.gateway, LogSmsGateway):
            return fn(row, *args)
        return await anyio.to_thread.run_sync(fn, row, *args)

    async def claim_on_loop(self, caller: Caller, body: ClaimIn, device: str | None) -> tuple[bool, dict | None]:
        """The best request of the pool claimed on the event loop: (True, the request, or None when nothing
        waits), or (False, None) when `claim` on a thread must answer (a claim by id, an outlet outside the
        subtree, held requests whose lease lapsed to return first, not a clerk's token)."""
        if body.id is not None or not self._on_loop(caller):
            return False, None
        codes = self.subtree(caller)
        if body.outlet is not None:
            if body.outlet not in codes:
                return False, None
            codes = self.tree.subtree(body.outlet)
        sql, params, now = self._claim_statement(caller, body, codes, body.lease_s or self.settings.lease_s, device)
        row = await self._apg.one(sql, params)
        if row["id"] is None:
            return (False, None) if row["lapsed"] else (True, None)
        return True, await self._after(self._claimed, row, now)

    async def transition_on_loop(self, caller: Caller, request_id: int, body: TransitionIn,
                                 device: str | None) -> dict | None:
        """The holder's start or complete on the event loop (TRANSITION_PG); None when `transition(fast=False)`
        on a thread must decide (another action, a 委托书 in force, scans to delete, not the holder, …)."""
        if body.action not in FAST_TRANSITIONS or not self._on_loop(caller):
            return None
        sql, params, now = self._transition_statement(caller, request_id, body, device)
        row = await self._apg.one(sql, params)
        return None if row is None else await self._after(self._transitioned, row, body, now)

    def _claim_next(self, caller, body: ClaimIn, codes, lease_s, device) -> tuple[dict | None, bool]:
        """SQLite (and the reference for CLAIM_PG): `BEGIN IMMEDIATE` serialises writers, so the select-then-
        update below never races; an empty pool may hide held requests whose lease lapsed."""
        q = self.pool_pick(body, codes)
        with self.tx() as t:
            req = t.s.scalars(q).first()
            if req is None:
                return None, True
            self._take(t, caller, req, lease_s, device, body.start)
            return self.out(t.s, req), False

    @staticmethod
    def pool_pick(body: ClaimIn, codes):
        """SQLite's pick: the best request of the pool in `codes`, walking the pool index in order as CLAIM_PG
        does on PostgreSQL. The unary `+` keeps SQLite's planner off the outlet index, which holds every request
        the outlet ever had and would be read whole and sorted at each claim."""
        q = (select(ProxyRequest)
             .where(text(f"({POOL_RANK}) IS NOT NULL"), literal_column("+proxy_requests.outlet_code").in_(codes))
             .order_by(text(f"({POOL_RANK})"), ProxyRequest.created_at, ProxyRequest.id)
             .limit(1)
             .with_for_update(skip_locked=True))
        if body.mode is not None:
            q = q.where(ProxyRequest.mode == body.mode)
        if body.kind is not None:
            q = q.where(ProxyRequest.kind == body.kind)
        return q

    def _claim_one(self, caller, request_id: int, codes, lease_s, device, start: bool = False) -> dict:
        with self.tx() as t:
            req = t.s.scalars(select(ProxyRequest).where(ProxyRequest.id == request_id).with_for_update()).first()
            if req is None:
                raise NotFound(f"no proxy request {request_id}")
            self.visible(caller, req, codes)
            now = utcnow()
            lapsed = req.status in HELD and req.lease_until is not None and aware(req.lease_until) <= now
            if req.status not in POOL and not lapsed:
                raise Conflict(f"request {req.id} is {req.status}, not in the pool"
                               + (f" (held by {req.holder})" if req.holder else ""), status=req.status,
                               level=req.level, code="taken")
            if lapsed:
                self._lapse(t, req, now)
            self._take(t, caller, req, lease_s, device, start)
            return self.out(t.s, req)

    @staticmethod
    def needs_mandate(req) -> bool:
        """A 全程代办: its start, filing and completion check its 委托书, so a claim with `start` leaves it claimed
        (CLAIM_PG and TRANSITION_PG say the same in SQL: `NOT (mode = 'full_proxy' AND kind = 'proxy')`)."""
        return req.mode == "full_proxy" and req.kind == "proxy"

    def _take(self, t: _Tx, caller: Caller, req: ProxyRequest, lease_s: int, device, start: bool = False) -> None:
        now = utcnow()
        prev = req.status
        req.status = "claimed"
        req.holder = caller.actor
        req.holder_token_id = caller.token_id
        req.holder_person_id = caller.person_id
        req.lease_until = now + dt.timedelta(seconds=lease_s)
        req.claims = (req.claims or 0) + 1
        req.updated_at = now
        self.event(t, req, caller.actor, "claimed", from_status=prev, to_status="claimed", device=device,
                   lease_until=iso(req.lease_until))
        self.notify(t, req, "claimed", outlet_name=self._outlet_name(t.s, req.outlet_code))
        if start and not self.needs_mandate(req):
            req.status = "in_progress"
            self.event(t, req, caller.actor, EVENT_NAMES["start"], from_status="claimed", to_status="in_progress",
                       device=device)

    def _lapse(self, t: _Tx, req: ProxyRequest, now: dt.datetime) -> None:
        """A held request whose lease ended goes back to the pool (its clock resumes if it was paused)."""
        prev, holder = req.status, req.holder
        self._unpause(req, now)
        req.status = "released"
        req.holder = req.holder_token_id = req.holder_person_id = None
        req.lease_until = None
        req.updated_at = now
        self.event(t, req, ACTOR, "lease_expired", from_status=prev, to_status="released", previous_holder=holder)

    @staticmethod
    def lapsed_pick(codes: list[str] | None, now: dt.datetime, limit: int):
        """Held requests whose lease ended before `now`, earliest first, from the held requests' index in its order
        (migration 0015); `outlet_code || ''` keeps the planner off the outlet index, as in the pick."""
        held_lease = literal_column(f"({HELD_LEASE})", type_=ProxyRequest.lease_until.type)
        q = select(ProxyRequest).where(held_lease < now).order_by(held_lease).limit(limit)
        if codes is not None:
            q = q.where(literal_column("proxy_requests.outlet_code || ''").in_(codes))
        return q.with_for_update(skip_locked=True)

    def expire_leases(self, codes: list[str] | None = None, limit: int = 200) -> int:
        now = utcnow()
        q = self.lapsed_pick(codes, now, limit)
        with self.tx() as t:
            rows = list(t.s.scalars(q))
            for req in rows:
                self._lapse(t, req, now)
        return len(rows)

    # -- the state machine ---------------------------------------------------------------------
    def _locked(self, t: _Tx, caller: Caller, request_id: int) -> ProxyRequest:
        req = t.s.scalars(select(ProxyRequest).where(ProxyRequest.id == request_id).with_for_update()).first()
        if req is None:
            raise NotFound(f"no proxy request {request_id}")
        if self.scope(caller) == "all":
            raise Forbidden("a supervisor token reads the queue and changes nothing")
        self.visible(caller, req, session=t.s)
        return req

    def transition(self, caller: Caller, request_id: int, body: TransitionIn, device: str | None = None,
                   fast: bool = True) -> dict:
        """`fast=False`: the one-statement path was tried already (transition_on_loop) and could not decide."""
        if fast and self.is_pg and body.action in FAST_TRANSITIONS and caller.level is not None:
            done = self._transition_pg(caller, request_id, body, device)
            if done is not None:
                return done
        with self.tx() as t:
            req = self._locked(t, caller, request_id)
            now = utcnow()
            sources, target = TRANSITIONS[body.action]
            if req.status not in sources:
                raise Conflict(f"cannot {body.action} a request that is {req.status}", status=req.status,
                               level=req.level, code="invalid_state")
            self._authorise(caller, req, body.action, now)
            if self.needs_mandate(req) and body.action in ("start", "file", "complete"):
                self._need_mandate(t, req, now)
            prev = req.status
            if body.action == "renew":
                req.lease_until = now + dt.timedelta(seconds=body.lease_s or self.settings.lease_s)
                req.updated_at = now
                return self.out(t.s, req)  # a heartbeat, not a state change: no event
            if body.action == "wait_citizen":
                req.sla_paused_at = now
            elif body.action == "resume":
                self._unpause(req, now)
            elif body.action == "file":
                req.receipt_no = body.receipt_no
                req.lease_until = None
                req.sla_stopped_at = now
            elif body.action == "release":
                self._unpause(req, now)
                req.holder = req.holder_token_id = req.holder_person_id = None
                req.lease_until = None
            if target in CLOSED:
                self._unpause(req, now)
                req.closed_at = now
                req.lease_until = None
                req.sla_stopped_at = req.sla_stopped_at or now
                if body.action in ("cancel", "refuse"):
                    req.reason = body.note or None
            req.status = target
            req.updated_at = now
            detail = {}
            if body.action == "file":
                detail["receipt_no"] = body.receipt_no
                detail["case_known"] = t.s.scalar(select(Case.id).where(Case.receipt_no == body.receipt_no)) is not None
            self.event(t, req, caller.actor, EVENT_NAMES[body.action], from_status=prev, to_status=target,
                       note=body.note, device=device, **detail)
            if target in CLOSED:
                self.purge_materials(t, req, caller.actor)
            if body.action == "complete":
                self._complete_mandates(t, req, caller.actor, now)
                self.notify(t, req, "done")
            elif body.action == "wait_citizen":
                self.notify(t, req, "waiting_for_you", note=body.note)
            elif body.action == "refuse":
                self.notify(t, req, "refused", reason=body.note)
            elif body.action == "cancel":
                self.notify(t, req, "cancelled")
            return self.out(t.s, req)

    def _transition_pg(self, caller: Caller, request_id: int, body: TransitionIn, device) -> dict | None:
        """The holder's start or complete as one statement (TRANSITION_PG); None when the general path must decide."""
        if self.scope(caller) != "outlet":
            return None
        sql, params, now = self._transition_statement(caller, request_id, body, device)
        row = self._pg.one(sql, params)
        return None if row is None else self._transitioned(row, body, now)

    def _transition_statement(self, caller: Caller, request_id: int, body: TransitionIn,
                              device) -> tuple[str, dict, dt.datetime]:
        sets, guard, template = FAST_TRANSITIONS[body.action]
        sources, target = TRANSITIONS[body.action]
        now = utcnow()
        event = EVENT_NAMES[body.action]
        params = {"id": request_id, "actor": caller.actor, "now": now, "sources": list(sources), "target": target,
                  "codes": list(self.subtree(caller)), "device": device, "event": event, "note": body.note,
                  "system": ACTOR, "template": template,
                  "gateway": getattr(self.gateway, "name", type(self.gateway).__name__),
                  "channel": self.channel or "", "at": iso(now), "origin": self.feed.origin}
        return TRANSITION_PG.format(sets=sets, guard=guard), params, now

    def _transitioned(self, row: dict, body: TransitionIn, now: dt.datetime) -> dict:
        """After TRANSITION_PG moved a request: the feed, the citizen's SMS, the answer."""
        _, _, template = FAST_TRANSITIONS[body.action]
        event = EVENT_NAMES[body.action]
        req = RequestRow(**row)
        self.feed.publish(self.feed_message(req, event, now, row["event_id"]))
        if template:
            phone = self.cipher.decrypt_text(req.phone_enc, "proxy_requests.phone_enc")
            deliver(self.gateway, phone, template, {"request_no": req.request_no})
        return self._out_of_row(req, row, now)

    def _out_of_row(self, req: RequestRow, row, now: dt.datetime) -> dict:
        """The answer for a request one statement changed: its latest 委托书 is read only when it has one."""
        if row["mandate_id"] is None:
            return self.out(None, req, mandate=None, now=now)
        with self.hub.sessions() as s:
            return self.out(s, req, mandate=s.get(ProxyMandate, row["mandate_id"]), now=now)

    def _authorise(self, caller: Caller, req: ProxyRequest, action: str, now: dt.datetime) -> None:
        scope = self.scope(caller)
        if scope == "creator":
            if action == "cancel" and req.status != "filed":
                return
            raise Forbidden(f"a {caller.role} token may only cancel the requests it created (the citizen withdrew);"
                            " the outlet works them")
        holds = self._holds(caller, req, now)
        if holds:
            return
        if action in ("release", "cancel", "refuse") and self._owner(caller, req):
            return
        if action in ("cancel", "refuse") and self._pool_actor(caller, req):
            return
        if req.holder:
            raise Forbidden(f"request {req.id} is held by {req.holder} until {iso(req.lease_until)}; only the holder"
                            f" may {action} it", status=req.status, level=req.level,
                            code="held_by_other")
        raise Forbidden(f"only the clerk who claimed request {req.id} may {action} it; claim it first",
                        status=req.status, level=req.level, code="not_holder")

    def _unpause(self, req: ProxyRequest, now: dt.datetime) -> None:
        if req.sla_paused_at is None:
            return
        paused = self.calendar.working_seconds(aware(req.sla_paused_at), now)
        req.sla_paused_s = (req.sla_paused_s or 0) + paused
        req.sla_due_at = self.calendar.add_working_seconds(aware(req.sla_due_at), paused)
        req.sla_paused_at = None

    # -- escalation ----------------------------------------------------------------------------
    def escalate(self, caller: Caller, request_id: int, body: EscalationIn, device: str | None = None) -> dict:
        with self.tx() as t:
            req = self._locked(t, caller, request_id)
            now = utcnow()
            if req.status in CLOSED:
                raise Conflict(f"request {req.id} is {req.status}: a closed request is not escalated",
                               status=req.status, level=req.level, code="invalid_state")
            if self.scope(caller) == "creator":
                raise Forbidden("kiosk and channel tokens do not escalate; the outlet does (or the SLA sweeper)")
            if body.direction == "up":
                if req.level >= 3:
                    raise Conflict(f"request {req.id} is already at the top level (3, 中心领导)", status=req.status,
                                   level=req.level, code="top_level")
                if not (self._holds(caller, req, now) or self._owner(caller, req) or self._pool_actor(caller, req)):
                    raise Forbidden(f"only the holder of request {req.id} or level {req.level}"
                                    f" ({LEVEL_NAMES[req.level]}) may escalate it", status=req.status, level=req.level,
                                    code="not_level_owner")
                self._move_level(t, req, +1, caller.actor, body.reason, device)
            else:
                if req.level <= 0:
                    raise Conflict(f"request {req.id} is at level 0 (代办员): nothing to de-escalate",
                                   status=req.status, level=req.level, code="bottom_level")
                if not self._owner(caller, req):
                    raise Forbidden(f"request {req.id} is at level {req.level} ({LEVEL_NAMES[req.level]}); only that"
                                    " level de-escalates it", status=req.status, level=req.level,
                                    code="not_level_owner")
                self._move_level(t, req, -1, caller.actor, body.reason, device)
            return self.out(t.s, req)

    def _move_level(self, t: _Tx, req: ProxyRequest, step: int, actor: str, reason: str, device=None, **detail):
        before = req.level
        req.level = before + step
        req.updated_at = utcnow()
        self.event(t, req, actor, "escalated" if step > 0 else "deescalated", note=reason, device=device,
                   from_level=before, to_level=req.level, **detail)
        if step > 0:
            self.notify(t, req, "escalated", level_name=LEVEL_NAMES[req.level])

    # -- 委托书 ---------------------------------------------------------------------------------
    def _mandate_status(self, t: _Tx, m: ProxyMandate, req: ProxyRequest, now: dt.datetime) -> str:
        """The mandate's status now; an open one past its expiry becomes `expired` (with its event)."""
        if m.status in ("active", "renewed", "suspended") and aware(m.expires_at) <= now:
            prev = m.status
            m.status = "expired"
            m.updated_at = now
            self.event(t, req, ACTOR, "mandate_expired", mandate_id=m.id, from_mandate_status=prev)
        return m.status

    def _latest_mandate(self, s, request_id: int) -> ProxyMandate | None:
        return s.scalars(select(ProxyMandate).where(ProxyMandate.request_id == request_id)
                         .order_by(ProxyMandate.id.desc()).limit(1)).first()

    def _need_mandate(self, t: _Tx, req: ProxyRequest, now: dt.datetime) -> ProxyMandate:
        m = self._latest_mandate(t.s, req.id)
        if m is None:
            raise Conflict(f"request {req.id} is a 全程代办 and has no 委托书: the citizen signs one first"
                           " (POST /api/v1/mandates)", status=req.status, level=req.level, mandate_status=None,
                           code="mandate_missing")
        status = self._mandate_status(t, m, req, now)
        if status not in MANDATE_EFFECTIVE:
            hint = {"pending": "activate it once signed", "suspended": "renew it (续办委托书)",
                    "expired": "renew it (续办委托书)", "revoked": "the citizen withdrew; cancel the request or get a"
                    " new 委托书", "completed": "it was closed; get a new 委托书"}.get(status, "")
            raise Conflict(f"the 委托书 #{m.id} of request {req.id} is {status}: {hint}", status=req.status,
                           level=req.level, mandate_status=status, code="mandate_not_effective")
        if req.item_code not in (m.scope_items or []):
            raise Conflict(f"the 委托书 #{m.id} does not cover item {req.item_code}: the proxy acts only within the"
                           " entrusted scope", status=req.status, level=req.level, mandate_status=status,
                           code="mandate_scope")
        return m

    def purge_materials(self, t: _Tx, req: ProxyRequest, actor: str) -> None:
        """A closed request's scans go (PIPL): marked purged in this transaction, the files after its commit."""
        if req.materials:
            t.purged += mark_bound_purged(t.s, materials_bound_to(req.id), actor, f"proxy_request_{req.status}")

    def _complete_mandates(self, t: _Tx, req: ProxyRequest, actor: str, now: dt.datetime) -> None:
        for m in t.s.scalars(select(ProxyMandate).where(ProxyMandate.request_id == req.id,
                                                        ProxyMandate.status.in_(MANDATE_EFFECTIVE))):
            m.status = "completed"
            m.updated_at = now
            self.event(t, req, actor, "mandate_completed", mandate_id=m.id)

    @staticmethod
    def _signature(b64: str) -> bytes:
        try:
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, TypeError):
            raise Unprocessable("signature_png_b64 is not base64") from None
        if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
            raise Unprocessable("signature_png_b64 is not a PNG image (the signature pad's output)")
        if len(raw) > MAX_SIGNATURE_BYTES:
            raise Unprocessable(f"the signature image is larger than {MAX_SIGNATURE_BYTES} bytes")
        return raw

    def _check_agent(self, s, caller: Caller, agent) -> None:
        from kiosk.hub.models import Person

        if caller.person_id is None:
            return
        person = s.get(Person, caller.person_id)
        if person is not None and person.id_number_hash and self.cipher.id_hash(agent.id_number) != person.id_number_hash:
            raise Unprocessable("the agent's ID number is not that of the person this token belongs to: the 受托人"
                                " is the clerk who signs in")

    def _mandate_authority(self, caller: Caller, req: ProxyRequest, action: str) -> None:
        scope = self.scope(caller)
        if scope == "all":
            raise Forbidden("a supervisor token reads 委托书 and changes nothing")
        if scope == "creator" and action not in ("create", "suspend", "revoke"):
            raise Forbidden(f"a {caller.role} token may create, suspend or revoke a 委托书, not {action} it;"
                            " the outlet's clerk does")

    def create_mandate(self, caller: Caller, body: MandateIn, device: str | None = None) -> dict:
        with self.tx() as t:
            req = self._locked(t, caller, body.request_id)
            self._mandate_authority(caller, req, "create")
            now = utcnow()
            if req.kind != "proxy" or req.mode == "remote_guidance":
                raise Unprocessable("a 委托书 belongs to a home_visit or full_proxy request; in remote guidance the"
                                    " citizen acts alone, and a complaint has none")
            if req.status in CLOSED:
                raise Conflict(f"request {req.id} is {req.status}", status=req.status, level=req.level)
            if req.item_code not in body.scope_items:
                raise Unprocessable(f"scope_items must include the request's item {req.item_code}: the proxy acts"
                                    " only within the entrusted scope")
            if body.expires_at <= now:
                raise Unprocessable("expires_at is in the past")
            if req.applicant_type == "person":
                applicant = self.cipher.decrypt_json(req.applicant_enc, "proxy_requests.applicant_enc")
                if applicant["id_number"] != body.principal.id_number:
                    raise Unprocessable("the 委托人 (principal) must be the applicant of the request")
            signature = self._signature(body.signature_png_b64) if body.signature_png_b64 else None
            for m in t.s.scalars(select(ProxyMandate).where(ProxyMandate.request_id == req.id,
                                                            ProxyMandate.status.in_(MANDATE_OPEN))):
                if self._mandate_status(t, m, req, now) in MANDATE_OPEN:
                    if self._same_mandate(m, caller, body, signature):
                        return 200, self.mandate_out(m)  # a retry of one already recorded (its answer was lost)
                    raise Conflict(f"request {req.id} already has 委托书 #{m.id} ({m.status}); revoke it first or"
                                   " renew it", status=m.status)
            m = ProxyMandate(request_id=req.id, status="pending", scope_items=list(body.scope_items),
                             scope_text=body.scope_text, expires_at=body.expires_at.astimezone(dt.timezone.utc),
                             created_by=caller.actor, created_at=now, updated_at=now)
            self._set_person(m, "principal", body.principal)
            if body.agent is not None:
                self._set_person(m, "agent", body.agent)
            if signature is not None:
                m.signature_enc = self.cipher.encrypt(signature, "proxy_mandates.signature_enc")
                m.signature_sha256 = hashlib.sha256(signature).hexdigest()
            t.s.add(m)
            t.s.flush()
            self.event(t, req, caller.actor, "mandate_created", device=device, mandate_id=m.id,
                       scope_items=list(body.scope_items), expires_at=iso(m.expires_at), signed=signature is not None)
            return 201, self.mandate_out(m)

    def _same_mandate(self, m: ProxyMandate, caller: Caller, body: MandateIn, signature: bytes | None) -> bool:
        """Whether an open 委托书 is the one this call would record: same author, scope, expiry, principal, agent
        and signature. A device that sent it, lost the answer and sent it again gets the recorded one back."""
        if m.created_by != caller.actor or list(m.scope_items) != list(body.scope_items):
            return False
        if m.scope_text != body.scope_text or aware(m.expires_at) != body.expires_at.astimezone(dt.timezone.utc):
            return False
        if m.signature_sha256 != (hashlib.sha256(signature).hexdigest() if signature is not None else None):
            return False
        principal = self.cipher.decrypt_json(m.principal_enc, "proxy_mandates.principal_enc")
        if principal.get("id_number") != body.principal.id_number or principal.get("name") != body.principal.name:
            return False
        if (m.agent_enc is None) != (body.agent is None):
            return False
        if body.agent is not None:
            agent = self.cipher.decrypt_json(m.agent_enc, "proxy_mandates.agent_enc")
            return agent.get("id_number") == body.agent.id_number and agent.get("name") == body.agent.name
        return True

    def _set_person(self, m: ProxyMandate, role: str, p) -> None:
        doc = {"name": p.name, "id_number": p.id_number, "card_type": p.card_type}
        setattr(m, f"{role}_enc", self.cipher.encrypt_json(doc, f"proxy_mandates.{role}_enc"))
        setattr(m, f"{role}_masked", f"{mask_name(p.name)} {mask_document_number(p.id_number)}"[:120])

    def mandate_action(self, caller: Caller, mandate_id: int, body: MandateActionIn, device: str | None = None) -> dict:
        with self.tx() as t:
            m = t.s.scalars(select(ProxyMandate).where(ProxyMandate.id == mandate_id).with_for_update()).first()
            if m is None:
                raise NotFound(f"no 委托书 {mandate_id}")
            req = self._locked(t, caller, m.request_id)
            self._mandate_authority(caller, req, body.action)
            now = utcnow()
            status = self._mandate_status(t, m, req, now)
            sources, target = MANDATE_TRANSITIONS[body.action]
            if status not in sources:
                raise Conflict(f"cannot {body.action} a 委托书 that is {status}", status=status)
            if body.action == "activate":
                if body.agent is not None:
                    self._check_agent(t.s, caller, body.agent)
                    self._set_person(m, "agent", body.agent)
                if body.signature_png_b64:
                    sig = self._signature(body.signature_png_b64)
                    m.signature_enc = self.cipher.encrypt(sig, "proxy_mandates.signature_enc")
                    m.signature_sha256 = hashlib.sha256(sig).hexdigest()
                if m.agent_enc is None or m.signature_enc is None:
                    raise Unprocessable("a 委托书 is activated once signed by the citizen (signature_png_b64) and"
                                        " naming the agent with their ID (agent)")
                if body.agent is None and caller.person_id is not None:
                    agent = self.cipher.decrypt_json(m.agent_enc, "proxy_mandates.agent_enc")
                    from kiosk.hub.proxy_schemas import PersonIn
                    self._check_agent(t.s, caller, PersonIn(**agent))
                m.agent_person_id = caller.person_id
            elif body.action == "renew":
                if not body.signature_png_b64:
                    raise Unprocessable("a 续办委托书 is signed again by the citizen: send signature_png_b64")
                if body.expires_at <= now:
                    raise Unprocessable("expires_at is in the past")
                sig = self._signature(body.signature_png_b64)
                m.signature_enc = self.cipher.encrypt(sig, "proxy_mandates.signature_enc")
                m.signature_sha256 = hashlib.sha256(sig).hexdigest()
                m.expires_at = body.expires_at.astimezone(dt.timezone.utc)
            m.status = target
            m.updated_at = now
            self.event(t, req, caller.actor, f"mandate_{'activated' if target == 'active' else target}",
                       note=body.reason, device=device, mandate_id=m.id, from_mandate_status=status,
                       expires_at=iso(m.expires_at))
            return self.mandate_out(m)

    def get_mandate(self, caller: Caller, mandate_id: int) -> ProxyMandate:
        with self.hub.sessions() as s:
            m = s.get(ProxyMandate, mandate_id)
            if m is None:
                raise NotFound(f"no 委托书 {mandate_id}")
            req = s.get(ProxyRequest, m.request_id)
            self.visible(caller, req, session=s)
            return m

    def mandate_doc(self, caller: Caller, mandate_id: int) -> dict:
        return self.mandate_out(self.get_mandate(caller, mandate_id))

    def mandate_signature(self, caller: Caller, mandate_id: int, device: str | None = None) -> bytes:
        with self.tx() as t:
            m = t.s.get(ProxyMandate, mandate_id)
            if m is None:
                raise NotFound(f"no 委托书 {mandate_id}")
            req = t.s.get(ProxyRequest, m.request_id)
            self.visible(caller, req, session=t.s)
            now = utcnow()
            if not (req.created_by == caller.actor or self._works_it(caller, req, now)):
                raise Forbidden("the signature is shown to the holder, the level owner and the creator only")
            if m.signature_enc is None:
                raise NotFound(f"委托书 {mandate_id} has no signature yet")
            self.event(t, req, caller.actor, "signature_viewed", feed=False, device=device, mandate_id=m.id)
            return self.cipher.decrypt(m.signature_enc, "proxy_mandates.signature_enc")

    def _holds_quiet(self, caller: Caller, req: ProxyRequest, now: dt.datetime) -> bool:
        try:
            return self._holds(caller, req, now)
        except Forbidden:
            return False

    def mandate_out(self, m: ProxyMandate) -> dict:
        principal = self._masked_person(m.principal_enc, "proxy_mandates.principal_enc")
        agent = self._masked_person(m.agent_enc, "proxy_mandates.agent_enc") if m.agent_enc else None
        status = m.status
        if status in ("active", "renewed", "suspended") and aware(m.expires_at) <= utcnow():
            status = "expired"
        return MandateOut(id=m.id, request_id=m.request_id, status=status, scope_items=list(m.scope_items or []),
                          scope_text=m.scope_text, expires_at=iso(m.expires_at), principal=principal, agent=agent,
                          agent_person_id=m.agent_person_id, signed=m.signature_enc is not None,
                          signature_sha256=m.signature_sha256, created_by=m.created_by, created_at=iso(m.created_at),
                          updated_at=iso(m.updated_at)).model_dump()

    def _masked_person(self, blob: bytes, context: str) -> dict:
        p = self.cipher.decrypt_json(blob, context)
        return {"name": mask_name(p["name"]), "id_number": mask_document_number(p["id_number"]),
                "card_type": p.get("card_type", "111")}

    # -- reads ---------------------------------------------------------------------------------
    def sla(self, req: ProxyRequest, now: dt.datetime | None = None) -> dict:
        now = now or utcnow()
        ref = aware(req.sla_stopped_at) or aware(req.sla_paused_at) or now
        used = self.calendar.working_seconds(aware(req.created_at), ref) - (req.sla_paused_s or 0)
        percent = round(max(0.0, 100.0 * used / max(1, req.sla_budget_s)), 1)
        return SlaOut(days=req.sla_days, due_at=iso(req.sla_due_at), percent=percent, stage=req.sla_stage,
                      paused=req.sla_paused_at is not None, stopped=req.sla_stopped_at is not None).model_dump()

    def applicant_masked(self, req: ProxyRequest) -> dict:
        a = self.cipher.decrypt_json(req.applicant_enc, "proxy_requests.applicant_enc")
        if a["type"] == "org":
            return {"type": "org", "org_name": a["org_name"], "uscc": a["uscc"],
                    "contact_name": mask_name(a.get("contact_name")) or ""}
        return {"type": "person", "name": mask_name(a["name"]), "id_number": mask_document_number(a["id_number"]),
                "card_type": a.get("card_type", "111")}

    def out(self, s, req: ProxyRequest, mandate: ProxyMandate | None | bool = False,
            now: dt.datetime | None = None) -> dict:
        now = now or utcnow()
        if mandate is False:  # remote guidance and complaints never have a 委托书: no query for them
            mandate = self._latest_mandate(s, req.id) if req.kind == "proxy" and req.mode != "remote_guidance" else None
        overdue = req.status in CLOCK_RUNS and req.sla_paused_at is None and aware(req.sla_due_at) < now
        return ProxyRequestOut(
            id=req.id, request_no=req.request_no, kind=req.kind, channel=req.channel, device_id=req.device_id,
            outlet=req.outlet_code, item_code=req.item_code, item_name=req.item_name, mode=req.mode,
            applicant=self.applicant_masked(req), contact_phone=req.phone_masked, priority=req.priority,
            green_reason=req.green_reason, status=req.status, level=req.level, level_name=LEVEL_NAMES[req.level],
            holder=req.holder, lease_until=iso(req.lease_until), claims=req.claims or 0,
            sla_due_at=iso(req.sla_due_at), sla=self.sla(req, now), overdue=overdue, receipt_no=req.receipt_no,
            materials=[{"code": m["code"], "name": m["name"], "upload_id": m["upload_id"]} for m in req.materials or []],
            delivery=req.delivery, reason=scrub(req.reason) if req.reason else None, proxy_fee=0,
            mandate=self.mandate_out(mandate) if mandate else None, created_by=req.created_by,
            created_at=iso(req.created_at), updated_at=iso(req.updated_at), closed_at=iso(req.closed_at),
        ).model_dump()

    def detail(self, caller: Caller, request_id: int, unmasked: bool = False, device: str | None = None) -> dict:
        with self.tx() as t:
            s = t.s
            req = s.get(ProxyRequest, request_id)
            if req is None:
                raise NotFound(f"no proxy request {request_id}")
            self.visible(caller, req, session=s)
            now = utcnow()
            if unmasked and not self._works_it(caller, req, now):
                raise Forbidden("clear personal data is shown only to the holder of the request and the level that"
                                " owns it")
            doc = self.out(s, req, now=now)
            address = self.cipher.decrypt_text(req.address_enc, "proxy_requests.address_enc") if req.address_enc else ""
            details = self.cipher.decrypt_text(req.details_enc, "proxy_requests.details_enc") if req.details_enc else ""
            if unmasked:
                a = self.cipher.decrypt_json(req.applicant_enc, "proxy_requests.applicant_enc")
                a.pop("type", None)
                doc["applicant"] = {"type": req.applicant_type, **a}
                doc["contact_phone"] = self.cipher.decrypt_text(req.phone_enc, "proxy_requests.phone_enc")
                self.event(t, req, caller.actor, "personal_data_viewed", feed=False, device=device)
            else:
                address, details = mask_address(address) or "", scrub(details)
            events = [ProxyEventOut(id=e.id, at=iso(e.at), actor=e.actor, device=e.device, action=e.action,
                                    from_status=e.from_status, to_status=e.to_status, level=e.level,
                                    note=e.note if unmasked else scrub(e.note),
                                    detail=e.detail or {}).model_dump()
                      for e in s.scalars(select(ProxyEvent).where(ProxyEvent.request_id == req.id)
                                         .order_by(ProxyEvent.id))]
            mandates = [self.mandate_out(m) for m in s.scalars(
                select(ProxyMandate).where(ProxyMandate.request_id == req.id).order_by(ProxyMandate.id))]
            doc.update(address=address, details=details, events=events, mandates=mandates, unmasked=unmasked)
            return doc

    def _works_it(self, caller: Caller, req: ProxyRequest, now: dt.datetime) -> bool:
        """The holder of `req` or the escalation level that owns it: who sees its clear personal data and scans."""
        return caller.level is not None and (self._holds_quiet(caller, req, now) or self._owner(caller, req))

    def material(self, caller: Caller, request_id: int, upload_id: str, device: str | None = None) -> dict:
        """One scan of a request, for its holder and the level that owns it (audited like clear personal data):
        where the file is, its name and type."""
        from kiosk.hub.tus import safe_filename, upload_path

        with self.tx() as t:
            req = t.s.get(ProxyRequest, request_id)
            if req is None:
                raise NotFound(f"no proxy request {request_id}")
            self.visible(caller, req, session=t.s)
            if not self._works_it(caller, req, utcnow()):
                raise Forbidden("a request's scans are shown only to the holder of the request and the level that"
                                " owns it; claim it first")
            m = next((m for m in req.materials or [] if m.get("upload_id") == upload_id), None)
            if m is None:
                raise NotFound(f"request {req.id} has no material uploaded as {upload_id}")
            up = t.s.get(Upload, upload_id)
            path = upload_path(self.hub.upload_dir, upload_id)
            if up is None or up.purged or not path.is_file():
                raise NotFound(f"the scan of {m['code']} is no longer kept at the hub (the request is"
                               f" {req.status}); ask the citizen for the paper", code="material_gone")
            self.event(t, req, caller.actor, "material_viewed", feed=False, device=device, material=m["code"])
            meta = up.metadata_json or {}
            return {"path": path, "filename": safe_filename(meta.get("filename"), f"{m['code']}.pdf"),
                    "media_type": meta.get("filetype") or "application/pdf"}

    def list(self, caller: Caller, *, status: list[str] | None = None, outlet: str | None = None,
             level: int | None = None, mode: str | None = None, kind: str | None = None,
             overdue: bool | None = None, mine: bool = False, limit: int = 50, offset: int = 0) -> dict:
        scope = self.scope(caller)
        conds = []
        if scope == "creator":
            conds.append(ProxyRequest.created_by == caller.actor)
        elif scope == "outlet":
            codes = self.subtree(caller)
            if outlet is not None and outlet not in codes:
                raise Forbidden(f"outlet {outlet} is outside the subtree of {caller.outlet_code}",
                                code="other_outlet")
            conds.append(ProxyRequest.outlet_code.in_(codes))
            conds.append(or_(ProxyRequest.level <= caller.level, ProxyRequest.holder == caller.actor))
        if outlet is not None:
            conds.append(ProxyRequest.outlet_code.in_(self.tree.subtree(outlet)))
        if status:
            conds.append(ProxyRequest.status.in_(status))
        if level is not None:
            conds.append(ProxyRequest.level == level)
        if mode is not None:
            conds.append(ProxyRequest.mode == mode)
        if kind is not None:
            conds.append(ProxyRequest.kind == kind)
        if mine:
            conds.append(ProxyRequest.holder == caller.actor)
        now = utcnow()
        late = and_(ProxyRequest.status.in_(CLOCK_RUNS), ProxyRequest.sla_paused_at.is_(None),
                    ProxyRequest.sla_due_at < now)
        if overdue is True:
            conds.append(late)
        elif overdue is False:
            conds.append(~late)
        with self.hub.sessions() as s:
            total = s.scalar(select(func.count()).select_from(ProxyRequest).where(*conds))
            rows = list(s.scalars(select(ProxyRequest).where(*conds)
                                  .order_by(ProxyRequest.priority_rank, ProxyRequest.created_at, ProxyRequest.id)
                                  .limit(limit).offset(offset)))
            latest: dict[int, ProxyMandate] = {}
            if rows:
                for m in s.scalars(select(ProxyMandate).where(ProxyMandate.request_id.in_([r.id for r in rows]))
                                   .order_by(ProxyMandate.id)):
                    latest[m.request_id] = m
            items = [self.out(s, r, mandate=latest.get(r.id), now=now) for r in rows]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    def feed_filter(self, caller: Caller):
        """Which feed events `caller` may see (the same rule as reads)."""
        scope = self.scope(caller)
        if scope == "all":
            return lambda e: True
        if scope == "creator":
            return lambda e: e.get("_created_by") == caller.actor
        tree = self.tree

        def accept(e: dict) -> bool:
            if e.get("_holder") == caller.actor:
                return True
            return e.get("level", 0) <= caller.level and e.get("outlet") in tree.subtree(caller.outlet_code)

        return accept
