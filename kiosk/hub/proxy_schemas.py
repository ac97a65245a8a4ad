"""Request and response bodies of the 代办 API (docs/proxy-api.md): proxy requests, claims, transitions,
escalations, 委托书 (mandates) and outlets. Every input model refuses unknown fields."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.hub.schemas import RECEIPT_NO, bad_char

MODES = ("remote_guidance", "home_visit", "full_proxy")
KINDS = ("proxy", "complaint")
CHANNELS = ("kiosk", "counter", "hotline", "miniprogram", "field", "other")
STATUSES = ("new", "claimed", "in_progress", "waiting_citizen", "filed", "done", "cancelled", "refused", "released")
ACTIONS = ("start", "wait_citizen", "resume", "file", "complete", "cancel", "refuse", "release", "renew")
MANDATE_STATUSES = ("pending", "active", "suspended", "renewed", "revoked", "expired", "completed")
MANDATE_ACTIONS = ("activate", "suspend", "renew", "revoke", "complete")
GREEN_REASONS = ("elderly", "disabled", "ill", "pregnant", "other")  # 老 弱 病 残 孕 (绿色通道)

Mode = Literal["remote_guidance", "home_visit", "full_proxy"]
Status = Literal["new", "claimed", "in_progress", "waiting_citizen", "filed", "done", "cancelled", "refused", "released"]

# ---------------------------------------------------------------------------------------------
# Check characters

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def resident_id_ok(value: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17]


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Why `value` is not a valid 统一社会信用代码 (GB 32100-2015), or None when it is."""
    if len(value) != 18:
        return f"统一社会信用代码 has 18 characters, this one {len(value)}"
    bad = [c for c in value if c not in USCC_ALPHABET]
    if bad:
        return f"统一社会信用代码 may not contain {bad[0]!r} (digits and capital letters except I, O, S, V, Z)"
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return f"统一社会信用代码 check character is {value[17]!r}, expected {expected!r}: a character was mistyped"
    return None


# ---------------------------------------------------------------------------------------------
# Inputs

MULTILINE = {"note", "details", "scope_text", "reason"}  # free text: tabs and newlines allowed


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _printable(self):
        """No NUL, other control characters or lone surrogates (PostgreSQL and the platform refuse them)."""
        for name, value in self.__dict__.items():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str):
                    why = bad_char(v, single_line=name not in MULTILINE)
                    if why:
                        raise ValueError(f"{name} must be printable text; found {why}")
        return self


class PersonIn(_In):
    """A natural person: the applicant, the 委托人 (principal) of a mandate, or its 受托人 (agent)."""
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=5, max_length=40)
    card_type: str = Field(default="111", max_length=32)  # GA/T 2000.156; 111 = 居民身份证 (check digit verified)

    @model_validator(mode="after")
    def _check(self) -> "PersonIn":
        self.id_number = self.id_number.upper()
        if self.card_type == "111" and not resident_id_ok(self.id_number):
            raise ValueError("id_number is not a valid 18-character resident ID number (check digit wrong);"
                             " read it from the card again")
        return self


class OrgIn(_In):
    """An organisation (enterprise, 重点项目): name, 统一社会信用代码 and optionally its contact person."""
    org_name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(min_length=18, max_length=18)
    contact_name: str = Field(default="", max_length=100)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        v = v.upper()
        problem = uscc_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class MaterialRef(_In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    upload_url: str = Field(min_length=1, max_length=500)  # a complete tus upload made with the same token


class ProxyRequestIn(_In):
    outlet: str = Field(min_length=1, max_length=32)
    kind: Literal["proxy", "complaint"] = "proxy"
    item_code: str = Field(default="", max_length=64)
    item_name: str = Field(default="", max_length=200)
    mode: Mode | None = None
    applicant: Union[PersonIn, OrgIn]
    contact_phone: str = Field(min_length=5, max_length=20)
    priority: Literal["normal", "green"] = "normal"
    green_reason: Literal["elderly", "disabled", "ill", "pregnant", "other"] | None = None
    channel: Literal["kiosk", "counter", "hotline", "miniprogram", "field", "other"]
    request_no: str | None = Field(default=None, max_length=40)  # a device-issued number, like a receipt's
    device_id: str | None = Field(default=None, min_length=1, max_length=16)
    address: str = Field(default="", max_length=300)  # where a runner goes; required for home_visit
    details: str = Field(default="", max_length=2000)  # the citizen's own words; required for a complaint
    materials: list[MaterialRef] = Field(default_factory=list, max_length=50)
    delivery: Literal["自取", "邮寄", "网点代发"] = "自取"

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        v = v.replace(" ", "")
        if not (MOBILE.match(v) or LANDLINE.match(v)):
            raise ValueError("contact_phone must be an 11-digit mobile number (13700009050) or a landline"
                             " with its area code (029-88886666)")
        return v

    @model_validator(mode="after")
    def _rules(self) -> "ProxyRequestIn":
        if self.kind == "proxy":
            if self.mode is None:
                raise ValueError("mode is required for a proxy request: remote_guidance, home_visit or full_proxy")
            if not self.item_code:
                raise ValueError("item_code is required for a proxy request (the service item to handle)")
        else:
            if self.mode is None:
                self.mode = "remote_guidance"
            if not self.details:
                raise ValueError("details is required for a complaint (办不成事): what could not be done, and why")
        if self.mode == "home_visit" and not self.address:
            raise ValueError("address is required for home_visit (上门辅助): where the runner should go")
        if self.priority == "green" and self.green_reason is None:
            raise ValueError("green_reason is required for priority green (绿色通道):"
                             " elderly, disabled, ill, pregnant or other")
        if self.request_no is not None:
            m = RECEIPT_NO.match(self.request_no)
            if not m:
                raise ValueError("request_no must read <device id>-<yyyymmdd>-<sequence>, e.g. K0001-20261201-0001")
            if self.device_id is not None and m.group(1) != self.device_id:
                raise ValueError(f"request_no {self.request_no} was not issued by device {self.device_id}")
        codes = [x.code for x in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("material codes must be unique within a request")
        return self


class ClaimIn(_In):
    """Claim the next request of the caller's outlet subtree (green first, then oldest), or one by id."""
    id: int | None = Field(default=None, ge=1)
    outlet: str | None = Field(default=None, min_length=1, max_length=32)  # only this part of the subtree
    mode: Mode | None = None
    kind: Literal["proxy", "complaint"] | None = None
    wait_s: float = Field(default=0, ge=0, le=30)  # long poll: wait this long for a request before 204
    lease_s: int | None = Field(default=None, ge=60, le=86400)  # default: the hub's lease (1800 s)
    start: bool = Field(default=False, description=(
        "start it too, in the same call: answered in_progress, its events `claimed` then `started`; a 全程代办"
        " (full_proxy) is answered claimed, since its 委托书 is checked by its own `start` transition"))


class TransitionIn(_In):
    action: Literal["start", "wait_citizen", "resume", "file", "complete", "cancel", "refuse", "release", "renew"]
    note: str = Field(default="", max_length=1000)
    receipt_no: str | None = Field(default=None, max_length=40)  # file: the case the application became
    lease_s: int | None = Field(default=None, ge=60, le=86400)  # claim/renew: the lease length wanted

    @model_validator(mode="after")
    def _rules(self) -> "TransitionIn":
        if self.action == "refuse" and not self.note:
            raise ValueError("note is required to refuse: the reason the citizen will be told")
        if self.action == "file":
            if not self.receipt_no or not RECEIPT_NO.match(self.receipt_no):
                raise ValueError("file needs receipt_no: the receipt number of the case submitted for this request")
        elif self.receipt_no is not None:
            raise ValueError("receipt_no belongs only to the file action")
        return self


class EscalationIn(_In):
    direction: Literal["up", "down"]
    reason: str = Field(min_length=1, max_length=1000)


class MandateIn(_In):
    """A 代办服务委托书: the citizen (principal) entrusts the outlet (agent) with items, until a time."""
    request_id: int = Field(ge=1)
    scope_items: list[str] = Field(min_length=1, max_length=50)
    scope_text: str = Field(default="", max_length=500)
    expires_at: dt.datetime
    principal: PersonIn
    agent: PersonIn | None = None
    signature_png_b64: str | None = Field(default=None, min_length=8, max_length=400_000)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("expires_at needs a UTC offset, e.g. 2026-12-31T23:59:59+08:00")
        return v

    @field_validator("scope_items")
    @classmethod
    def _items(cls, v: list[str]) -> list[str]:
        if any(not x.strip() or len(x) > 64 for x in v):
            raise ValueError("scope_items are item codes of 1-64 characters")
        return v


class MandateActionIn(_In):
    action: Literal["activate", "suspend", "renew", "revoke", "complete"]
    reason: str = Field(default="", max_length=1000)
    expires_at: dt.datetime | None = None  # renew: the new expiry (续办委托书)
    agent: PersonIn | None = None  # activate: the agent's own ID, if not given at creation
    signature_png_b64: str | None = Field(default=None, min_length=8, max_length=400_000)

    @model_validator(mode="after")
    def _rules(self) -> "MandateActionIn":
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a UTC offset, e.g. 2026-12-31T23:59:59+08:00")
        if self.action == "renew" and self.expires_at is None:
            raise ValueError("renew needs expires_at: until when the 续办委托书 holds")
        if self.action in ("suspend", "revoke") and not self.reason:
            raise ValueError(f"{self.action} needs a reason")
        return self


# ---------------------------------------------------------------------------------------------
# Outputs (personal fields masked; `?unmasked=true` on a detail gives clear values to the people working it)

class SlaOut(BaseModel):
    days: int  # promised working days
    due_at: str  # ISO 8601 UTC; moves later after time spent in waiting_citizen
    percent: float  # share of the promised working time used
    stage: int  # 0, 70, 80, 90, or 100 (breached)
    paused: bool  # waiting_citizen: the clock stands still
    stopped: bool  # filed or closed: the outlet's part is over


class MandateOut(BaseModel):
    id: int
    request_id: int
    status: Literal["pending", "active", "suspended", "renewed", "revoked", "expired", "completed"]
    scope_items: list[str]
    scope_text: str
    expires_at: str
    principal: dict[str, Any]
    agent: dict[str, Any] | None
    agent_person_id: int | None
    signed: bool
    signature_sha256: str | None
    created_by: str
    created_at: str
    updated_at: str


class ProxyEventOut(BaseModel):
    id: int
    at: str
    actor: str
    device: str | None
    action: str
    from_status: str | None
    to_status: str | None
    level: int
    note: str
    detail: dict[str, Any]


class ProxyRequestOut(BaseModel):
    id: int
    request_no: str
    kind: Literal["proxy", "complaint"]
    channel: str
    device_id: str | None
    outlet: str
    item_code: str
    item_name: str
    mode: Mode
    applicant: dict[str, Any]  # {"type": "person", "name", "id_number", "card_type"} or {"type": "org", …}
    contact_phone: str
    priority: Literal["normal", "green"]
    green_reason: str | None
    status: Status
    level: int
    level_name: str
    holder: str | None
    lease_until: str | None
    claims: int
    sla_due_at: str
    sla: SlaOut
    overdue: bool
    receipt_no: str | None
    materials: list[dict[str, Any]]
    delivery: str
    reason: str | None
    proxy_fee: int  # always 0: 代办 is free; only statutory fees of the item itself apply
    mandate: MandateOut | None  # the newest 委托书
    created_by: str
    created_at: str
    updated_at: str
    closed_at: str | None


class ProxyRequestDetail(ProxyRequestOut):
    address: str
    details: str
    events: list[ProxyEventOut]
    mandates: list[MandateOut]
    unmasked: bool


class ProxyRequestList(BaseModel):
    items: list[ProxyRequestOut]
    total: int
    limit: int
    offset: int


class OutletOut(BaseModel):
    code: str
    name: str
    level: Literal["county", "town", "village", "partner"]
    parent: str | None
    items: list[str]
    hours: str
    address: str
    phone: str
    active: bool
