"""A citizen's session at the kiosk: who logged in, which service, the form, the scanned materials.

Pure Python (no Kivy), so it is unit-tested directly. Personal data lives only here, in memory and in the
session's scratch directory, and `wipe()` removes all of it at session end or idle timeout.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.privacy.masking import mask_address, mask_document_number, mask_name, mask_phone, sensitive_values

DELIVERY_OPTIONS = ("自取", "邮寄", "网点代发")
MOBILE_RE = re.compile(r"1[3-9]\d{9}")


@dataclass
class Material:
    """One material (申请材料) of the chosen service, and the pages scanned for it."""

    code: str
    name: str
    required: bool = True
    pages: list[Path] = field(default_factory=list)  # processed page images
    document: Path | None = None  # the PDF/JPEG sent to the hub
    sha256: str = ""
    size: int = 0


class CardRefused(Exception):
    """The card cannot be used to log in (expired, failed its check digit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CitizenSession:
    card: dict | None = None
    service: dict | None = None
    phone: str = ""
    delivery: str = "自取"
    mailing_address: str = ""
    materials: list[Material] = field(default_factory=list)
    scratch: Path | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())

    # -- login -------------------------------------------------------------------------------
    def login(self, card: dict, today: dt.date | None = None) -> None:
        """Accept a card read from the reader, or raise CardRefused with the reason (an i18n message id)."""
        today = today or dt.date.today()
        valid_to = card.get("valid_to")
        expired = card.get("expired")
        if expired is None and valid_to and valid_to != "长期":
            expired = dt.date.fromisoformat(valid_to) < today
        if expired:
            raise CardRefused("expired")
        if card.get("id_number_valid") is False:
            raise CardRefused("check_digit")
        self.card = dict(card)
        for key in ("name", "name_en", "address", "address_latest", "id_number"):
            sensitive_values.add(key, card.get(key))

    @property
    def logged_in(self) -> bool:
        return self.card is not None

    @property
    def display_name(self) -> str:
        if not self.card:
            return ""
        return mask_name(self.card.get("name") or self.card.get("name_en") or "") or ""

    @property
    def display_id_number(self) -> str:
        return mask_document_number(self.card.get("id_number")) if self.card else ""

    @property
    def display_address(self) -> str:
        if not self.card:
            return ""
        return mask_address(self.card.get("address_latest") or self.card.get("address") or "") or ""

    @property
    def display_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    # -- service and form --------------------------------------------------------------------
    def choose_service(self, service: dict) -> None:
        self.service = service
        self.materials = [
            Material(code=m.get("code", f"M{i + 1}"), name=m["name"], required=bool(m.get("required", True)))
            for i, m in enumerate(service.get("materials", []))
        ]
        if not self.materials:
            self.materials = [Material(code="M1", name="申请表", required=True)]

    def form_errors(self) -> list[str]:
        """Message ids of what is missing or wrong in the form (empty when it can be submitted)."""
        errors = []
        if not MOBILE_RE.fullmatch(self.phone):
            errors.append("phone")
        if self.delivery not in DELIVERY_OPTIONS:
            errors.append("delivery")
        if self.delivery == "邮寄" and len(self.mailing_address.strip()) < 6:
            errors.append("mailing_address")
        return errors

    def missing_materials(self) -> list[Material]:
        return [m for m in self.materials if m.required and m.document is None]

    def applicant(self) -> dict:
        card = self.card or {}
        return {
            "name": card.get("name") or card.get("name_en"),
            "id_number": card.get("id_number"),
            "card_type": card.get("card_type"),
            "phone": self.phone,
            "address": card.get("address_latest") or card.get("address"),
        }

    # -- end ---------------------------------------------------------------------------------
    def wipe(self) -> None:
        """Forget everything personal: card, form, scanned pages on disk."""
        self.card = None
        self.service = None
        self.phone = ""
        self.mailing_address = ""
        self.delivery = "自取"
        self.materials = []
        if self.scratch is not None and self.scratch.exists():
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch = None
        sensitive_values.clear()


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Promised dates count working days (承诺时限, 工作日); weekends are skipped."""
    current = start
    remaining = max(0, int(days))
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
