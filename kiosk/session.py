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

from typing import Any

from kiosk import china_time
from kiosk import form_fields
from kiosk.privacy.masking import mask_address, mask_document_number, mask_name, mask_phone, sensitive_values

DELIVERY_OPTIONS = ("自取", "邮寄", "网点代发")
MOBILE_RE = re.compile(r"1[3-9]\d{9}")


MAX_EXTRA_PAGES = 8  # pages a citizen may add beyond the declared count (multi-page certificates, contracts)


@dataclass
class Page:
    """One captured page: the cleaned image, and what the camera saw (to recognise the same page again)."""

    path: Path
    signature: Any = None  # devices.scanner.autocapture.page_signature of the page
    warnings: list[str] = field(default_factory=list)  # "blurred", "glare": accepted after advice


@dataclass
class Material:
    """One material (申请材料) of the chosen service, and the pages scanned for it."""

    code: str
    name: str
    required: bool = True
    name_en: str = ""
    note: str = ""
    declared_pages: int = 1  # pages the catalog declares (ID card: 2, front then back)
    pages: list[Page] = field(default_factory=list)
    document: Path | None = None  # the PDF sent to the hub, assembled from `pages` at submission
    sha256: str = ""
    size: int = 0

    @property
    def is_id_card(self) -> bool:
        return self.code == "M01" or "身份证" in self.name

    @property
    def complete(self) -> bool:
        return len(self.pages) >= self.declared_pages

    @property
    def can_add_page(self) -> bool:
        return not self.is_id_card and self.complete and len(self.pages) < self.declared_pages + MAX_EXTRA_PAGES

    def display_name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


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
    form: dict[str, str] = field(default_factory=dict)  # the item's own form_fields, by key
    materials: list[Material] = field(default_factory=list)
    scratch: Path | None = None
    language: str = "zh_CN"  # the kiosk's language for this citizen (a foreigner's card greets in English)
    started_at: dt.datetime = field(default_factory=china_time.now)

    # -- login -------------------------------------------------------------------------------
    def login(self, card: dict, today: dt.date | None = None) -> None:
        """Accept a card read from the reader, or raise CardRefused with the reason (an i18n message id)."""
        today = today or china_time.today()
        valid_to = card.get("valid_to")
        expired = card.get("expired")
        if valid_to and valid_to != "长期":
            try:  # China's date decides, not that of the zone the reader's machine happens to be set to
                expired = dt.date.fromisoformat(valid_to) < today
            except ValueError:
                expired = True
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
        """The masked name to greet with, in the session's language."""
        return self.greeting_name(self.language)

    def greeting_name(self, language: str) -> str:
        """The masked name to greet with: a foreigner's card greets by its English name in English mode."""
        if not self.card:
            return ""
        if language != "en" or not self.card.get("name_en"):
            return mask_name(self.card.get("name") or self.card.get("name_en") or "") or ""
        if self.card.get("name_en"):
            first, *rest = self.card["name_en"].split()
            return " ".join([first.title()] + [f"{w[0]}." for w in rest])  # "Garcia L. M. F. A.": family name, initials
        return ""

    @property
    def display_id_number(self) -> str:
        return mask_document_number(self.card.get("id_number")) if self.card else ""

    @property
    def display_address(self) -> str:
        address = self.card_address
        return (mask_address(address) or "") if address else ""  # a card without an address shows none

    @property
    def display_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    # -- service and form --------------------------------------------------------------------
    def choose_service(self, service: dict) -> None:
        self.service = service
        self.form = {}
        self.materials = [
            Material(code=m.get("code", f"M{i + 1}"), name=m["name"], required=bool(m.get("required", True)),
                     name_en=m.get("name_en") or "", note=m.get("note") or "",
                     declared_pages=max(1, int(m.get("pages") or 1)))
            for i, m in enumerate(service.get("materials", []))
        ]
        if not self.materials:
            self.materials = [Material(code="M1", name="申请表", name_en="Application form", required=True)]

    @property
    def form_fields(self) -> list[dict]:
        return list((self.service or {}).get("form_fields") or [])

    def form_errors(self) -> list[str]:
        """Message ids of what is missing or wrong in the form (empty when it can be submitted)."""
        errors = []
        if not MOBILE_RE.fullmatch(self.phone):
            errors.append("phone")
        if self.delivery not in DELIVERY_OPTIONS:
            errors.append("delivery")
        if self.delivery == "邮寄" and len(self.mailing_address.strip()) < form_fields.ADDRESS_MIN:
            errors.append("mailing_address")
        if form_fields.errors(self.form_fields, self.form):
            errors.append("fields")
        return errors

    @property
    def card_address(self) -> str:
        card = self.card or {}
        return card.get("address_latest") or card.get("address") or ""

    def missing_materials(self) -> list[Material]:
        return [m for m in self.materials if m.required and not m.complete]

    def same_holder(self, card: dict) -> bool:
        """Whether `card` belongs to the person logged in (the same document number)."""
        return bool(self.card and card and card.get("id_number") and card.get("id_number") == self.card.get("id_number"))

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
        self.form = {}
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
