"""Request and response bodies of the hub API (kept apart from the ORM models)."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

RECEIPT_NO = re.compile(r"^([A-Za-z0-9]{1,16})-(\d{8})-(\d{4,})$")  # DESIGN §2: <device id>-<yyyymmdd>-<sequence>
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# The hub's limits on what a case may carry (docs/reliability.md). Every one of them is answered with a 4xx
# naming the field, on SQLite and PostgreSQL alike, so no input can reach the relay that the platform or the
# database cannot take.
MAX_RECEIPT_NO = 40
RECEIPT_NO_PATH = r"^[A-Za-z0-9-]{1,40}$"  # what a receipt number in a URL may look like (else 422)
MAX_FORM_BYTES = 16 * 1024          # the form as compact JSON (UTF-8)
MAX_FORM_DEPTH = 4
MAX_FORM_KEY = 64
MAX_FORM_STRING = 2000
MAX_FORM_INT = 2 ** 53               # what a JSON reader on any side keeps exactly
MAX_CASE_BODY_BYTES = 256 * 1024     # a whole POST /api/v1/cases body
# Characters no field may hold: lone surrogates (not UTF-8, refused by PostgreSQL and the platform) and
# control characters (NUL is refused by PostgreSQL's text types; the others have no place in an application).
_BAD_CHARS = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_CHARS_LINE = re.compile(r"[\ud800-\udfff\x00-\x1f\x7f]")  # single-line fields: no tab or newline either


def bad_char(value: str, single_line: bool = True) -> str | None:
    """A description of the first character `value` may not hold, or None."""
    m = (_BAD_CHARS_LINE if single_line else _BAD_CHARS).search(value)
    if m is None:
        return None
    ch = m.group(0)
    kind = "a lone surrogate" if "\ud800" <= ch <= "\udfff" else "a control character"
    return f"{kind} (U+{ord(ch):04X}) at position {m.start()}"


def _line(value: str) -> str:
    why = bad_char(value)
    if why:
        raise ValueError(f"must be printable text on one line; found {why}")
    return value


Line = Annotated[str, AfterValidator(_line)]


def check_form(form: dict[str, Any]) -> dict[str, Any]:
    """Only what JSON can carry losslessly and the hub stores: finite numbers, bounded strings and depth."""

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > MAX_FORM_DEPTH:
            raise ValueError(f"{path}: nested deeper than {MAX_FORM_DEPTH} levels")
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            if abs(value) > MAX_FORM_INT:
                raise ValueError(f"{path}: integer beyond ±2^53; send it as a string")
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{path}: numbers must be finite (NaN, Infinity and 1e400 are not JSON numbers)")
            return
        if isinstance(value, str):
            if len(value) > MAX_FORM_STRING:
                raise ValueError(f"{path}: text longer than {MAX_FORM_STRING} characters")
            why = bad_char(value, single_line=False)
            if why:
                raise ValueError(f"{path}: {why}")
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str) or not k or len(k) > MAX_FORM_KEY or bad_char(k):
                    raise ValueError(f"{path}: keys must be 1-{MAX_FORM_KEY} printable characters")
                walk(v, f"{path}.{k}", depth + 1)
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", depth + 1)
            return
        raise ValueError(f"{path}: unsupported value of type {type(value).__name__}")

    walk(form, "form", 1)
    size = len(json.dumps(form, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_FORM_BYTES:
        raise ValueError(f"form: {size} bytes as JSON; at most {MAX_FORM_BYTES}")
    return form


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=100)
    id_number: Line = Field(min_length=5, max_length=40)
    # A GA/T 2000.156 code (111 居民身份证) or the card reader's type name (resident, foreign_permanent_2017,
    # gat_residence, …); the platform adapter maps names to the province's codes.
    card_type: Line = Field(default="111", max_length=32)
    phone: Line = Field(default="", max_length=32)
    address: Line = Field(default="", max_length=300)

    @field_validator("card_type", "phone", "address", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        # Cards without an address (foreigners' permanent residence cards) and citizens without a phone.
        return "" if v is None else v

    @field_validator("card_type")
    @classmethod
    def _default_card(cls, v: str) -> str:
        return v or "111"


class MaterialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Line = Field(min_length=1, max_length=32)
    name: Line = Field(min_length=1, max_length=200)
    pages: int = Field(default=1, ge=1, le=500)
    sha256: str
    bytes: int = Field(ge=0, le=2 ** 40)
    upload_url: Line = Field(min_length=1, max_length=500)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower()
        if not SHA256_HEX.match(v):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        return v


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: Line = Field(max_length=MAX_RECEIPT_NO)
    device_id: Line = Field(min_length=1, max_length=16)
    channel: Literal["kiosk", "counter"]
    item_code: Line = Field(min_length=1, max_length=64)  # opaque, as the province issues it
    item_name: Line = Field(min_length=1, max_length=200)
    applicant: ApplicantIn
    form: Annotated[dict[str, Any], AfterValidator(check_form)] = Field(default_factory=dict)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    delivery: Literal["自取", "邮寄", "网点代发"]
    submitted_at: Line = Field(max_length=40)
    # The 取件码 printed on the 受理回执 (six digits, chosen by the kiosk or counter); the hub keeps only its HMAC.
    # Older kiosks send none: the hub then issues one when the result is ready (kiosk/hub/counter.py).
    pickup_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    @field_validator("submitted_at")
    @classmethod
    def _iso(cls, v: str) -> str:
        try:
            parsed = dt.datetime.fromisoformat(v)
        except ValueError:
            raise ValueError("submitted_at must be ISO 8601, e.g. 2026-11-22T10:30:00+08:00") from None
        if parsed.tzinfo is None:
            raise ValueError("submitted_at needs a UTC offset, e.g. +08:00")
        return v

    @model_validator(mode="after")
    def _receipt(self) -> "CaseIn":
        m = RECEIPT_NO.match(self.receipt_no)
        if not m:
            raise ValueError("receipt_no must read <device id>-<yyyymmdd>-<sequence>, e.g. K0001-20261122-0001")
        if m.group(1) != self.device_id:
            raise ValueError(f"receipt_no {self.receipt_no} was not issued by device {self.device_id}")
        codes = [x.code for x in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("material codes must be unique within a case")
        return self


class CaseOut(BaseModel):
    receipt_no: str
    case_no: str | None
    status: Literal["queued", "submitted", "failed"]
    promised_by: str | None


class CaseDetail(CaseOut):
    item_code: str
    item_name: str
    platform_status: str | None  # accepted | in_progress | completed | rejected, from the platform's callbacks
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str
