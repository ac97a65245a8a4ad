"""Request and response bodies of the hub API (kept apart from the ORM models)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RECEIPT_NO = re.compile(r"^([A-Za-z0-9]{1,16})-(\d{8})-(\d{4,})$")  # DESIGN §2: <device id>-<yyyymmdd>-<sequence>
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=5, max_length=40)
    # A GA/T 2000.156 code (111 居民身份证) or the card reader's type name (resident, foreign_permanent_2017,
    # gat_residence, …); the platform adapter maps names to the province's codes.
    card_type: str = Field(default="111", max_length=32)
    phone: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=300)

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
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    pages: int = Field(default=1, ge=1, le=500)
    sha256: str
    bytes: int = Field(ge=0)
    upload_url: str = Field(min_length=1, max_length=500)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower()
        if not SHA256_HEX.match(v):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        return v


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_no: str
    device_id: str = Field(min_length=1, max_length=16)
    channel: Literal["kiosk", "counter"]
    item_code: str = Field(min_length=1, max_length=64)  # opaque, as the province issues it
    item_name: str = Field(min_length=1, max_length=200)
    applicant: ApplicantIn
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    delivery: Literal["自取", "邮寄", "网点代发"]
    submitted_at: str

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
