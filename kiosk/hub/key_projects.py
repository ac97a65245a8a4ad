"""重点项目 (enterprises' key projects): each has one 代办专员 (a runner or 代办员 of the outlet subtree), one 档案
(an append-only dossier of linked proxy requests, cases, notes and documents) and is tracked until 销号 (closed).

Rules (docs/proxy-api.md, "Key projects"): supervisors, 中心领导 (leader) and 窗口人员 (window) of the outlet subtree
create projects, assign the 专员, suspend, resume and close them; the 专员 and the escalation levels above 代办员
(window, chief, leader) of the subtree add to the 档案; outlet roles of the subtree and supervisors read; kiosk,
channel and installer tokens read nothing. A project is closed only once every linked proxy request is finished
(done, cancelled or refused); a closed project takes no new entries. The HTTP layer is kiosk.hub.key_projects_api.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from kiosk.hub.auth import LEVELS, Caller
from kiosk.hub.business_calendar import CST
from kiosk.hub.crypto import FieldCipher
from kiosk.hub.db import earlier_or_taken, first_insert_wins, read_only
from kiosk.hub.models import (ApiToken, Case, KeyProject, KeyProjectEntry, KeyProjectEvent, ProxyRequest, Upload,
                              utcnow)
from kiosk.hub.outlets import OutletTree
from kiosk.hub.proxy_schemas import LANDLINE, MOBILE, OrgIn, _In
from kiosk.hub.proxy_service import CLOSED, Busy, Conflict, Forbidden, NotFound, Unprocessable, aware, iso
from kiosk.hub.schemas import RECEIPT_NO
from kiosk.privacy.masking import mask_name, mask_phone, scrub

log = logging.getLogger("kiosk.hub.key_projects")

STATUSES = ("open", "suspended", "closed")
MANAGERS = ("supervisor", "leader", "window")  # create, assign the 专员, suspend, resume, close (销号)
SPECIALIST_ROLES = ("clerk", "runner")  # 代办员 / 跑手: who may be a project's 代办专员
ENTRY_KINDS = ("note", "case", "document")  # proxy requests are linked through their own route
PROJECT_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
ACTOR = re.compile(r"^(clerk|runner):\S.{0,90}$")


# -- bodies ------------------------------------------------------------------------------------

class KeyProjectIn(_In):
    name: str = Field(min_length=1, max_length=200)  # the project, e.g. 年产5万吨新材料项目
    organisation: OrgIn  # org_name, uscc (check character verified), contact_name
    contact_phone: str = Field(default="", max_length=20)
    outlet: str = Field(min_length=1, max_length=32)
    project_no: str | None = Field(default=None, max_length=40)  # an outlet's own number; else KP-<date>-<id>
    specialist: str | None = Field(default=None, min_length=3, max_length=100)  # "runner:wang": the 代办专员
    note: str = Field(default="", max_length=2000)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if v and not (MOBILE.match(v) or LANDLINE.match(v)):
            raise ValueError("contact_phone is not a mobile (11 digits, 1[3-9]…) or landline (0xx-xxxxxxx) number")
        return v

    @field_validator("project_no")
    @classmethod
    def _no(cls, v: str | None) -> str | None:
        if v is not None and not PROJECT_NO.match(v):
            raise ValueError("project_no is 1-40 letters, digits, '-' or '_'")
        return v


class AssignIn(_In):
    specialist: str = Field(min_length=3, max_length=100)  # the 代办专员's actor, "runner:wang" or "clerk:zhang"
    note: str = Field(default="", max_length=2000)


class EntryIn(_In):
    kind: Literal["note", "case", "document"]
    note: str = Field(default="", max_length=2000)  # kind note: the words; otherwise a comment (encrypted at rest)
    receipt_no: str | None = Field(default=None, max_length=40)  # case
    upload_id: str | None = Field(default=None, max_length=40)  # document: a complete tus upload of this token
    title: str = Field(default="", max_length=200)  # document: its name (e.g. 环评批复)


class LinkIn(_In):
    request_id: int = Field(ge=1, le=2 ** 31 - 1)
    note: str = Field(default="", max_length=2000)


class NoteIn(_In):
    note: str = Field(min_length=1, max_length=2000)


# -- answers -----------------------------------------------------------------------------------

class KeyProjectOut(BaseModel):
    id: int
    project_no: str
    name: str
    organisation: dict[str, str]  # {"org_name", "uscc"}: public registry data, shown as is
    contact: dict[str, str]  # {"name", "phone"}, masked
    outlet: str
    outlet_name: str
    specialist: str | None
    specialist_since: str | None
    status: Literal["open", "suspended", "closed"]
    close_note: str | None
    closed_by: str | None
    closed_at: str | None
    age_days: int  # calendar days since creation (until 销号 once closed)
    linked_requests: int
    open_requests: int
    created_by: str
    created_at: str
    updated_at: str


class EntryOut(BaseModel):
    id: int
    at: str
    actor: str
    kind: Literal["proxy_request", "case", "note", "document"]
    proxy_request_id: int | None
    request_no: str | None
    request_status: str | None  # the linked request's status now
    receipt_no: str | None
    upload_id: str | None
    title: str
    note: str  # personal values masked unless `unmasked`
    detail: dict[str, Any]


class EventOut(BaseModel):
    id: int
    at: str
    actor: str
    device: str | None
    action: str
    from_status: str | None
    to_status: str | None
    note: str
    detail: dict[str, Any]


class KeyProjectDetail(KeyProjectOut):
    dossier: list[EntryOut]
    events: list[EventOut]
    unmasked: bool


class KeyProjectList(BaseModel):
    items: list[KeyProjectOut]
    total: int
    limit: int
    offset: int


def fingerprint(body: KeyProjectIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class KeyProjectService:
    def __init__(self, hub, cipher: FieldCipher, tree: OutletTree | None = None) -> None:
        self.hub = hub
        self.cipher = cipher
        self.tree = tree or OutletTree(hub.sessions)

    @contextlib.contextmanager
    def tx(self):
        with self.hub.sessions() as s:
            with s.begin():
                yield s

    def event(self, s, p: KeyProject, actor: str, action: str, *, from_status: str | None = None,
              to_status: str | None = None, note: str = "", device: str | None = None, **detail: Any) -> None:
        s.add(KeyProjectEvent(project_id=p.id, at=utcnow(), actor=actor, device=device, action=action,
                              from_status=from_status, to_status=to_status, note=note, detail=detail))

    # -- who may do what -----------------------------------------------------------------------
    def scope(self, caller: Caller) -> str:
        """"all" for a supervisor, "outlet" for an outlet role bound to an outlet; 403 for anyone else."""
        if caller.role == "supervisor":
            return "all"
        if caller.role in LEVELS:
            if not caller.outlet_code:
                raise Forbidden(f"this {caller.role} token is not bound to an outlet; create one with"
                                " 'kiosk hub token create --role ROLE --name N --outlet CODE'")
            return "outlet"
        raise Forbidden(f"role {caller.role!r} has no access to key projects (重点项目); they are for the outlets'"
                        " staff and supervisors")

    def _in_subtree(self, caller: Caller, outlet: str, s=None) -> None:
        if self.scope(caller) == "outlet" and outlet not in self.tree.subtree(caller.outlet_code, s):
            raise Forbidden(f"outlet {outlet} is outside the subtree of {caller.outlet_code}")

    def _manager(self, caller: Caller, p_outlet: str, what: str, s=None) -> None:
        self._in_subtree(caller, p_outlet, s)
        if caller.role not in MANAGERS:
            raise Forbidden(f"role {caller.role!r} may not {what}; a supervisor, 中心领导 (leader) or 窗口人员 (window)"
                            " of the outlet does")

    def _writer(self, caller: Caller, p: KeyProject, s=None) -> None:
        """The 专员 (wherever in the project's subtree they work), or an escalation level above 代办员 (window,
        chief, leader) whose subtree holds the project."""
        self.scope(caller)
        if caller.actor == p.specialist:
            return
        self._in_subtree(caller, p.outlet_code, s)
        if caller.level is not None and caller.level >= 1:
            return
        who = f"its 代办专员 {p.specialist}" if p.specialist else "its 代办专员 (none assigned yet)"
        raise Forbidden(f"only {who} and the 窗口人员, 审批科长 and 中心领导 of the outlet add to the 档案 of key project"
                        f" {p.project_no}")

    def _specialist(self, s, outlet: str, actor: str) -> int | None:
        """Check that `actor` names a runner or 代办员 with a live token in the subtree of `outlet`; their person id."""
        if not ACTOR.match(actor):
            raise Unprocessable(f"specialist {actor!r} must name a 代办员 or runner as 'runner:NAME' or 'clerk:NAME'"
                                " (the role and name of their token)")
        role, _, name = actor.partition(":")
        codes = self.tree.subtree(outlet, s)
        now = utcnow()
        rows = [t for t in s.scalars(select(ApiToken).where(ApiToken.role == role, ApiToken.name == name,
                                                           ApiToken.revoked.is_(False)))
                if t.expires_at is None or aware(t.expires_at) > now]
        if not rows:
            raise Unprocessable(f"no {role} named {name!r} has a valid token; create one with 'kiosk hub token create"
                                f" --role {role} --name {name} --outlet CODE'")
        inside = [t for t in rows if t.outlet_code in codes]
        if not inside:
            raise Unprocessable(f"{actor} works at {rows[0].outlet_code or 'no outlet'}, outside the subtree of"
                                f" {outlet}: the 代办专员 must be of the project's outlet or one below it")
        return inside[0].person_id

    # -- intake --------------------------------------------------------------------------------
    def create(self, caller: Caller, key: str, body: KeyProjectIn, device: str | None = None) -> tuple[int, dict]:
        self.scope(caller)
        if not self.tree.active(body.outlet):
            raise Unprocessable(f"outlet {body.outlet} is not registered or not active; GET /api/v1/outlets lists"
                                " them")
        self._manager(caller, body.outlet, "create key projects")
        fp = fingerprint(body)
        return first_insert_wins(lambda: self._insert(caller, key, body, fp, device), lambda: Busy(
            "a key project with this Idempotency-Key is being processed; retry shortly"))

    def _insert(self, caller: Caller, key: str, body: KeyProjectIn, fp: str, device: str | None) -> tuple[int, dict]:
        with self.tx() as s:
            old, taken = earlier_or_taken(
                lambda: s.scalar(select(KeyProject).where(KeyProject.idem_client == caller.actor,
                                                          KeyProject.idem_key == key)),
                lambda: bool(body.project_no) and s.scalar(select(KeyProject.id).where(
                    KeyProject.project_no == body.project_no)) is not None)
            if old is not None:
                if old.idem_fingerprint != fp:
                    raise Unprocessable("this Idempotency-Key was used with a different request body; use a new key"
                                        " for a new project")
                return 200, self.out(s, old)
            if taken:
                raise Conflict(f"project number {body.project_no} is already used by another key project")
            person_id = self._specialist(s, body.outlet, body.specialist) if body.specialist else None
            now = utcnow()
            org = body.organisation
            contact = {"name": org.contact_name, "phone": body.contact_phone}
            p = KeyProject(
                project_no=body.project_no or f"tmp-{uuid.uuid4().hex}",
                name=body.name, org_name=org.org_name, uscc=org.uscc,
                contact_enc=self.cipher.encrypt_json(contact, "key_projects.contact_enc"),
                contact_masked=f"{mask_name(org.contact_name) or ''} {mask_phone(body.contact_phone) or ''}".strip()[:120],
                outlet_code=body.outlet, status="open", created_by=caller.actor, idem_client=caller.actor,
                idem_key=key, idem_fingerprint=fp, created_at=now, updated_at=now)
            s.add(p)
            s.flush()
            if not body.project_no:
                p.project_no = f"KP-{now.astimezone(CST):%Y%m%d}-{p.id:06d}"
            self.event(s, p, caller.actor, "created", to_status="open", note=body.note, device=device,
                       outlet=body.outlet, uscc=org.uscc)
            if body.specialist:
                self._assign(s, p, caller, body.specialist, person_id, "", device)
            log.info("key project created", extra={"project_no": p.project_no, "outlet": p.outlet_code})
            return 201, self.out(s, p)

    def _assign(self, s, p: KeyProject, caller: Caller, actor: str, person_id: int | None, note: str,
                device: str | None) -> None:
        previous = p.specialist
        p.specialist, p.specialist_person_id, p.specialist_since = actor, person_id, utcnow()
        p.updated_at = p.specialist_since
        self.event(s, p, caller.actor, "specialist_assigned" if previous is None else "specialist_reassigned",
                   note=note, device=device, specialist=actor, previous=previous)

    # -- changes -------------------------------------------------------------------------------
    def _locked(self, s, project_id: int) -> KeyProject:
        p = s.scalars(select(KeyProject).where(KeyProject.id == project_id).with_for_update()).first()
        if p is None:
            raise NotFound(f"no key project {project_id}")
        return p

    def _open(self, p: KeyProject) -> None:
        if p.status == "closed":
            raise Conflict(f"key project {p.project_no} was closed (销号) at {iso(p.closed_at)} by {p.closed_by}; its"
                           " 档案 takes no new entries", status=p.status)

    def assign(self, caller: Caller, project_id: int, body: AssignIn, device: str | None = None) -> dict:
        with self.tx() as s:
            p = self._locked(s, project_id)
            self._manager(caller, p.outlet_code, "assign the 代办专员", s)
            self._open(p)
            person_id = self._specialist(s, p.outlet_code, body.specialist)
            if p.specialist != body.specialist:  # the same one again: nothing changes (a retried call)
                self._assign(s, p, caller, body.specialist, person_id, body.note, device)
            return self.out(s, p)

    def add_entry(self, caller: Caller, project_id: int, body: EntryIn, device: str | None = None) -> dict:
        with self.tx() as s:
            p = self._locked(s, project_id)
            self._writer(caller, p, s)
            self._open(p)
            entry = KeyProjectEntry(project_id=p.id, at=utcnow(), actor=caller.actor, kind=body.kind, title="",
                                    detail={})
            if body.kind == "note":
                if not body.note:
                    raise Unprocessable("a note entry needs its words in 'note'")
            elif body.kind == "case":
                if not body.receipt_no or not RECEIPT_NO.match(body.receipt_no):
                    raise Unprocessable("a case is linked by its receipt_no (<device>-<yyyymmdd>-<sequence>)")
                case = s.scalar(select(Case).where(Case.receipt_no == body.receipt_no))
                if case is None:
                    raise Unprocessable(f"no case with receipt_no {body.receipt_no} on this hub")
                if s.scalar(select(KeyProjectEntry.id).where(KeyProjectEntry.project_id == p.id,
                                                             KeyProjectEntry.receipt_no == body.receipt_no)):
                    raise Conflict(f"case {body.receipt_no} is already in the 档案 of {p.project_no}", status=p.status)
                entry.receipt_no = body.receipt_no
                entry.title = case.item_name[:200]
                entry.detail = {"item_code": case.item_code, "case_status": case.status}
            else:
                if not body.upload_id or not body.title:
                    raise Unprocessable("a document needs upload_id (a complete upload to /files/ made with this"
                                        " token) and title (its name)")
                up = s.get(Upload, body.upload_id)
                if up is None or up.owner != caller.actor:
                    raise Unprocessable(f"no upload {body.upload_id} of this token; upload the file to /files/"
                                        " first with this token")
                if up.purged or aware(up.expires_at) < utcnow():
                    raise Unprocessable(f"upload {body.upload_id} expired; upload the file again")
                if up.offset != up.length or up.sha256 is None:
                    raise Unprocessable(f"upload {body.upload_id} is incomplete ({up.offset} of {up.length} bytes);"
                                        " resume it first")
                if up.bound_to:
                    raise Conflict(f"upload {body.upload_id} is already filed ({up.bound_to}); upload the file again"
                                   " for this 档案", status=p.status)
                # Bound to the 档案: kept past the upload's expiry, which frees only unfiled uploads
                # (Relay.purge_expired_uploads), and no longer deletable through /files/.
                up.bound_to = f"key-project:{p.project_no}"[:40]
                entry.upload_id, entry.title = up.id, body.title
                entry.detail = {"sha256": up.sha256, "bytes": up.length}
            if body.note:
                entry.text_enc = self.cipher.encrypt(body.note, "key_project_entries.text_enc")
            s.add(entry)
            s.flush()
            p.updated_at = entry.at
            self.event(s, p, caller.actor, "entry_added", device=device, entry_id=entry.id, kind=body.kind)
            return self.detail_in(s, caller, p)

    def link_request(self, caller: Caller, project_id: int, body: LinkIn, device: str | None = None) -> dict:
        with self.tx() as s:
            p = self._locked(s, project_id)
            self._writer(caller, p, s)
            self._open(p)
            req = s.get(ProxyRequest, body.request_id)
            if req is None:
                raise NotFound(f"no proxy request {body.request_id}")
            if req.outlet_code not in self.tree.subtree(p.outlet_code, s):
                raise Forbidden(f"proxy request {req.request_no} belongs to outlet {req.outlet_code}, outside the"
                                f" subtree of the project's outlet {p.outlet_code}")
            other = s.scalar(select(KeyProjectEntry.project_id).where(
                KeyProjectEntry.proxy_request_id == req.id))
            if other is not None:
                no = s.scalar(select(KeyProject.project_no).where(KeyProject.id == other))
                raise Conflict(f"proxy request {req.request_no} is already in the 档案 of key project {no}: a request"
                               " belongs to one project only", status=p.status)
            entry = KeyProjectEntry(project_id=p.id, at=utcnow(), actor=caller.actor, kind="proxy_request",
                                    proxy_request_id=req.id, title=req.item_name[:200],
                                    detail={"request_no": req.request_no, "item_code": req.item_code})
            if body.note:
                entry.text_enc = self.cipher.encrypt(body.note, "key_project_entries.text_enc")
            s.add(entry)
            try:
                s.flush()
            except IntegrityError:  # linked by someone else a moment ago
                raise Conflict(f"proxy request {req.request_no} was just linked to another key project",
                               status=p.status) from None
            p.updated_at = entry.at
            self.event(s, p, caller.actor, "proxy_request_linked", device=device, entry_id=entry.id,
                       request_id=req.id, request_no=req.request_no)
            return self.detail_in(s, caller, p)

    def _open_requests(self, s, project_id: int) -> list[tuple[str, str]]:
        return list(s.execute(
            select(ProxyRequest.request_no, ProxyRequest.status)
            .join(KeyProjectEntry, KeyProjectEntry.proxy_request_id == ProxyRequest.id)
            .where(KeyProjectEntry.project_id == project_id, ProxyRequest.status.not_in(CLOSED))
            .order_by(ProxyRequest.id)).all())

    def close(self, caller: Caller, project_id: int, body: NoteIn, device: str | None = None) -> dict:
        with self.tx() as s:
            p = self._locked(s, project_id)
            self._manager(caller, p.outlet_code, "close (销号) key projects", s)
            if p.status == "closed":
                raise Conflict(f"key project {p.project_no} is already closed (销号) since {iso(p.closed_at)}",
                               status=p.status)
            still = self._open_requests(s, p.id)
            if still:
                listed = ", ".join(f"{no} ({status})" for no, status in still)
                raise Conflict(f"key project {p.project_no} cannot be closed (销号) while linked proxy requests are"
                               f" open: {listed}; finish, cancel or refuse them first", status=p.status,
                               open_requests=[{"request_no": no, "status": st} for no, st in still])
            now = utcnow()
            before = p.status
            p.status, p.close_note, p.closed_by, p.closed_at, p.updated_at = "closed", body.note, caller.actor, now, now
            self.event(s, p, caller.actor, "closed", from_status=before, to_status="closed", note=body.note,
                       device=device)
            return self.out(s, p)

    def suspend(self, caller: Caller, project_id: int, body: NoteIn, resume: bool = False,
                device: str | None = None) -> dict:
        source, target = ("suspended", "open") if resume else ("open", "suspended")
        with self.tx() as s:
            p = self._locked(s, project_id)
            self._manager(caller, p.outlet_code, "resume key projects" if resume else "suspend key projects", s)
            if p.status != source:
                raise Conflict(f"cannot {'resume' if resume else 'suspend'} key project {p.project_no}: it is"
                               f" {p.status}", status=p.status)
            p.status, p.updated_at = target, utcnow()
            self.event(s, p, caller.actor, "resumed" if resume else "suspended", from_status=source,
                       to_status=target, note=body.note, device=device)
            return self.out(s, p)

    # -- reads ---------------------------------------------------------------------------------
    def _contact(self, p: KeyProject, unmasked: bool = False) -> dict[str, str]:
        if p.contact_enc is None:
            return {"name": "", "phone": ""}
        c = self.cipher.decrypt_json(p.contact_enc, "key_projects.contact_enc")
        if unmasked:
            return {"name": c.get("name") or "", "phone": c.get("phone") or ""}
        return {"name": mask_name(c.get("name")) or "", "phone": mask_phone(c.get("phone")) or ""}

    def _counts(self, s, ids: list[int]) -> dict[int, tuple[int, int]]:
        if not ids:
            return {}
        rows = s.execute(select(KeyProjectEntry.project_id, ProxyRequest.status)
                         .join(ProxyRequest, KeyProjectEntry.proxy_request_id == ProxyRequest.id)
                         .where(KeyProjectEntry.project_id.in_(ids))).all()
        out: dict[int, tuple[int, int]] = {}
        for pid, status in rows:
            linked, still = out.get(pid, (0, 0))
            out[pid] = (linked + 1, still + (status not in CLOSED))
        return out

    def out(self, s, p: KeyProject, counts: tuple[int, int] | None = None, now: dt.datetime | None = None,
            unmasked: bool = False) -> dict:
        if counts is None:
            counts = self._counts(s, [p.id]).get(p.id, (0, 0))
        end = aware(p.closed_at) or now or utcnow()
        return KeyProjectOut(
            id=p.id, project_no=p.project_no, name=p.name, organisation={"org_name": p.org_name, "uscc": p.uscc},
            contact=self._contact(p, unmasked), outlet=p.outlet_code, outlet_name=self.tree.name(p.outlet_code, s),
            specialist=p.specialist, specialist_since=iso(p.specialist_since), status=p.status,
            close_note=(p.close_note if unmasked else scrub(p.close_note)) if p.close_note else None, closed_by=p.closed_by,
            closed_at=iso(p.closed_at), age_days=max(0, (end - aware(p.created_at)).days),
            linked_requests=counts[0], open_requests=counts[1], created_by=p.created_by,
            created_at=iso(p.created_at), updated_at=iso(p.updated_at)).model_dump()

    def _visible(self, caller: Caller, p: KeyProject, s=None) -> None:
        self.scope(caller)
        if caller.actor != p.specialist:
            self._in_subtree(caller, p.outlet_code, s)

    def detail(self, caller: Caller, project_id: int, unmasked: bool = False, device: str | None = None) -> dict:
        with self.tx() as s:
            p = s.get(KeyProject, project_id)
            if p is None:
                raise NotFound(f"no key project {project_id}")
            self._visible(caller, p, s)
            if unmasked:
                try:
                    self._writer(caller, p, s)
                except Forbidden:
                    raise Forbidden("clear personal data of a key project is shown only to its 代办专员 and the"
                                    " 窗口人员, 审批科长 and 中心领导 of the outlet") from None
                self.event(s, p, caller.actor, "personal_data_viewed", device=device)
            return self.detail_in(s, caller, p, unmasked)

    def detail_in(self, s, caller: Caller, p: KeyProject, unmasked: bool = False) -> dict:
        doc = self.out(s, p, unmasked=unmasked)
        requests = {r.id: r for r in s.scalars(
            select(ProxyRequest).join(KeyProjectEntry, KeyProjectEntry.proxy_request_id == ProxyRequest.id)
            .where(KeyProjectEntry.project_id == p.id))}
        dossier = []
        for e in s.scalars(select(KeyProjectEntry).where(KeyProjectEntry.project_id == p.id)
                           .order_by(KeyProjectEntry.id)):
            text = self.cipher.decrypt_text(e.text_enc, "key_project_entries.text_enc") if e.text_enc else ""
            req = requests.get(e.proxy_request_id) if e.proxy_request_id else None
            dossier.append(EntryOut(
                id=e.id, at=iso(e.at), actor=e.actor, kind=e.kind, proxy_request_id=e.proxy_request_id,
                request_no=req.request_no if req else None, request_status=req.status if req else None,
                receipt_no=e.receipt_no, upload_id=e.upload_id, title=e.title,
                note=text if unmasked else scrub(text), detail=e.detail or {}).model_dump())
        events = [EventOut(id=e.id, at=iso(e.at), actor=e.actor, device=e.device, action=e.action,
                           from_status=e.from_status, to_status=e.to_status,
                           note=e.note if unmasked else scrub(e.note), detail=e.detail or {}).model_dump()
                  for e in s.scalars(select(KeyProjectEvent).where(KeyProjectEvent.project_id == p.id)
                                     .order_by(KeyProjectEvent.id))]
        doc.update(dossier=dossier, events=events, unmasked=unmasked)
        return doc

    def list(self, caller: Caller, *, status: list[str] | None = None, outlet: str | None = None,
             specialist: str | None = None, mine: bool = False, uscc: str | None = None, limit: int = 50,
             offset: int = 0) -> dict:
        scope = self.scope(caller)
        conds = []
        if scope == "outlet":
            codes = self.tree.subtree(caller.outlet_code)
            if outlet is not None and outlet not in codes:
                raise Forbidden(f"outlet {outlet} is outside the subtree of {caller.outlet_code}")
            conds.append(or_(KeyProject.outlet_code.in_(codes), KeyProject.specialist == caller.actor))
        if outlet is not None:
            conds.append(KeyProject.outlet_code.in_(self.tree.subtree(outlet)))
        if status:
            conds.append(KeyProject.status.in_(status))
        if specialist:
            conds.append(KeyProject.specialist == specialist)
        if mine:
            conds.append(KeyProject.specialist == caller.actor)
        if uscc:
            conds.append(KeyProject.uscc == uscc.upper())
        now = utcnow()
        with self.hub.sessions() as s:
            read_only(s)
            total = s.scalar(select(func.count()).select_from(KeyProject).where(*conds))
            rows = list(s.scalars(select(KeyProject).where(*conds).order_by(KeyProject.created_at, KeyProject.id)
                                  .limit(limit).offset(offset)))
            counts = self._counts(s, [p.id for p in rows])
            items = [self.out(s, p, counts.get(p.id, (0, 0)), now) for p in rows]
        return {"items": items, "total": total, "limit": limit, "offset": offset}
