"""Applicants' personal fields of a case, encrypted at rest with the hub key (kiosk.hub.crypto).

`cases.personal_enc` holds name, ID number, card type, phone, address and the form as one AES-GCM sealed JSON
document, bound to the case's receipt number (a blob copied to another case does not open). The plain columns
keep only masked values, for lists and for staff who need to recognise a case without reading it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kiosk.hub.crypto import FieldCipher, hub_cipher, load_hub_key
from kiosk.hub.models import Case
from kiosk.privacy.masking import mask_address, mask_document_number, mask_name, mask_phone

log = logging.getLogger("kiosk.hub.case_fields")


def field_cipher(hub) -> FieldCipher:
    """The hub's field cipher: the app's own when it has one, else loaded beside the hub's data."""
    found = getattr(hub, "cipher", None) or getattr(hub, "_case_cipher", None)
    if found is None:
        found = hub_cipher(load_hub_key(hub.upload_dir.parent), hub.sessions)
        hub._case_cipher = found
    return found


def context(receipt_no: str) -> str:
    return f"cases.personal_enc:{receipt_no}"


@dataclass(frozen=True)
class Personal:
    name: str
    id_number: str
    card_type: str
    phone: str
    address: str
    form: dict[str, Any]

    def as_doc(self) -> dict:
        return {"name": self.name, "id_number": self.id_number, "card_type": self.card_type, "phone": self.phone,
                "address": self.address, "form": self.form}


def seal(cipher: FieldCipher, case: Case, personal: Personal) -> None:
    """Store `personal` encrypted on `case` and only masked values in the plain columns."""
    case.personal_enc = cipher.encrypt_json(personal.as_doc(), context(case.receipt_no))
    case.applicant_name = mask_name(personal.name) or ""
    case.applicant_id_number = mask_document_number(personal.id_number) or ""
    case.applicant_card_type = personal.card_type
    case.applicant_phone = mask_phone(personal.phone) or "" if personal.phone else ""
    case.applicant_address = mask_address(personal.address) or "" if personal.address else ""
    case.form = {}


def unseal(cipher: FieldCipher, case: Case) -> Personal:
    """The real personal fields of `case` (rows from before encryption are read as they are)."""
    if case.personal_enc is None:
        return Personal(case.applicant_name, case.applicant_id_number, case.applicant_card_type,
                        case.applicant_phone or "", case.applicant_address or "", dict(case.form or {}))
    doc = cipher.decrypt_json(case.personal_enc, context(case.receipt_no))
    return Personal(doc["name"], doc["id_number"], doc["card_type"], doc["phone"], doc["address"], doc["form"])


def seal_plaintext_cases(hub, batch: int = 200) -> int:
    """Encrypt the cases stored before migration 0005 (personal_enc still empty); returns how many."""
    cipher = field_cipher(hub)
    done = 0
    while True:
        with hub.sessions() as s, s.begin():
            rows = s.scalars(select(Case).where(Case.personal_enc.is_(None)).order_by(Case.id).limit(batch)
                             .with_for_update(skip_locked=True)).all()
            for case in rows:
                seal(cipher, case, unseal(cipher, case))
            done += len(rows)
        if len(rows) < batch:
            break
    if done:
        log.info("encrypted personal fields of existing cases", extra={"cases": done})
    return done


def reseal_all(hub, old: FieldCipher, new: FieldCipher, batch: int = 200) -> int:
    """Key rotation: re-encrypt every case's personal fields from `old` to `new` (rows already under `new`
    are left alone, so an interrupted rotation is simply run again). The other encrypted columns: rekey.py."""
    from kiosk.hub.rekey import Sealed, reseal_columns

    column = Sealed(Case, "personal_enc", lambda case: context(case.receipt_no))
    return reseal_columns(hub.sessions, old, new, batch, columns=[column])["cases.personal_enc"]
