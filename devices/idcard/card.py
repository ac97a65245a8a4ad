"""The decoded ID card (`CardData`) and the decoders for `30 01` / `30 10` / `30 03` replies.

`to_dict()` is the card JSON contract of issue 3, unmasked: masking is the caller's business (kiosk.privacy).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from devices.errors import InvalidData
from devices.idcard import codes, textblock
from devices.idcard.frames import FrameError, Reply, parse_reply
from devices.idcard.status_codes import SW3_NO_CONTENT, SW3_OK, SW3_TEXT

CARD_TYPES = ("resident", "gat_residence", "foreign_permanent_2017", "foreign_permanent_2023")
LONG_TERM = "长期"  # valid_to of long-term resident cards (reference §6.1)
PHOTO_SIZE = 1024  # WLT photo, reference §7.1
ADDRESS_SIZE = 70  # 30 03 latest address, reference §5.5
TEXT_OFFSET = 14  # 30 01 reply: text block at frame byte 14 (reference §5.3)
TEXT_OFFSET_FP = 16  # 30 10 reply: text block at frame byte 16 (reference §5.4)

# The card JSON keys, in contract order.
JSON_KEYS = (
    "card_type", "name", "name_en", "gender", "gender_code", "ethnicity", "ethnicity_code", "nationality_code",
    "birth_date", "valid_from", "valid_to", "expired", "address", "address_latest", "id_number", "id_number_valid",
    "issuer", "issuer_code", "pass_number", "issue_count", "photo_bytes", "fingerprint_bytes",
)


def _none_if_blank(value: str | None) -> str | None:
    return value if value else None


@dataclass
class CardData:
    """One card as read. Photo (WLT) and fingerprint blocks are kept raw; `raw_text` is the 256-byte text block."""

    card_type: str
    id_number: str
    gender_code: str
    birth_date: str
    valid_from: str
    valid_to: str
    name: str | None = None
    name_en: str | None = None
    ethnicity_code: str | None = None
    nationality_code: str | None = None
    address: str | None = None
    address_latest: str | None = None
    issuer: str | None = None
    issuer_code: str | None = None
    pass_number: str | None = None
    issue_count: str | None = None
    card_version: str | None = None  # 'I' cards only; not part of the JSON contract
    photo: bytes = b""
    fingerprint: bytes = b""
    raw_text: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:  # never personal data in logs or tracebacks
        return f"CardData(card_type={self.card_type!r}, photo={len(self.photo)} B, fingerprint={len(self.fingerprint)} B)"

    @property
    def gender(self) -> str:
        return codes.gender_name(self.gender_code)

    @property
    def ethnicity(self) -> str | None:
        return None if self.ethnicity_code is None else codes.ethnicity_name(self.ethnicity_code)

    @property
    def id_number_valid(self) -> bool | None:
        if self.card_type == "foreign_permanent_2017":
            return None  # 15 characters, no check digit
        return codes.id_number_valid(self.id_number)

    def is_expired(self, today: dt.date | None = None) -> bool:
        if self.valid_to == LONG_TERM:
            return False
        try:
            return dt.date.fromisoformat(self.valid_to) < (today or dt.date.today())
        except ValueError:
            return True

    @property
    def expired(self) -> bool:
        return self.is_expired()

    def to_dict(self) -> dict[str, Any]:
        """The card JSON (issue 3), every key present, unmasked."""
        return {
            "card_type": self.card_type,
            "name": self.name,
            "name_en": self.name_en,
            "gender": self.gender,
            "gender_code": self.gender_code,
            "ethnicity": self.ethnicity,
            "ethnicity_code": self.ethnicity_code,
            "nationality_code": self.nationality_code,
            "birth_date": self.birth_date,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "expired": self.expired,
            "address": self.address,
            "address_latest": self.address_latest,
            "id_number": self.id_number,
            "id_number_valid": self.id_number_valid,
            "issuer": self.issuer,
            "issuer_code": self.issuer_code,
            "pass_number": self.pass_number,
            "issue_count": self.issue_count,
            "photo_bytes": len(self.photo),
            "fingerprint_bytes": len(self.fingerprint),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CardData":
        """A card from the card JSON (simulator card files). `raw_text_hex`, if present, is the text block verbatim.

        Photo and fingerprint come back as synthetic blocks of the sizes given (the JSON carries sizes only).
        Raises InvalidData naming the first missing or bad field.
        """
        if not isinstance(d, dict):
            raise InvalidData("card_invalid", "card data must be a JSON object", "give a card JSON file like devices/idcard/samples/resident.json")
        photo = bytes(_size(d, "photo_bytes", PHOTO_SIZE))
        fingerprint = synthetic_fingerprint(_size(d, "fingerprint_bytes", 0))
        latest = d.get("address_latest")
        if d.get("raw_text_hex"):
            try:
                block = bytes.fromhex("".join(str(d["raw_text_hex"]).split()))
            except ValueError:
                raise _bad("raw_text_hex", "is not hexadecimal") from None
            card = card_from_text(block)
            card.photo, card.fingerprint, card.address_latest = photo, fingerprint, latest
            return card
        card_type = d.get("card_type")
        if card_type not in CARD_TYPES:
            raise _bad("card_type", f"must be one of {', '.join(CARD_TYPES)}, got {card_type!r}")
        for key in ("id_number", "birth_date", "valid_from", "valid_to"):
            if not isinstance(d.get(key), str) or not d.get(key):
                raise _bad(key, "is missing")
        gender_code = d.get("gender_code") or codes.GENDER_CODES.get(d.get("gender") or "")
        if not gender_code:
            raise _bad("gender_code", "is missing")
        for key in ("birth_date", "valid_from", "valid_to"):
            if d[key] == LONG_TERM and key == "valid_to":
                continue
            try:
                dt.date.fromisoformat(d[key])
            except ValueError:
                raise _bad(key, f"must be YYYY-MM-DD{' or 长期' if key == 'valid_to' else ''}, got {d[key]!r}") from None
        ethnicity_code = d.get("ethnicity_code")
        if card_type == "resident" and not ethnicity_code:
            ethnicity_code = codes.ETHNICITY_CODES.get(d.get("ethnicity") or "")
            if not ethnicity_code:
                raise _bad("ethnicity_code", "is missing")
        card = cls(
            card_type=card_type, id_number=d["id_number"], gender_code=str(gender_code), birth_date=d["birth_date"],
            valid_from=d["valid_from"], valid_to=d["valid_to"], name=d.get("name"), name_en=d.get("name_en"),
            ethnicity_code=ethnicity_code if card_type == "resident" else None,
            nationality_code=d.get("nationality_code"), address=d.get("address"), address_latest=latest,
            issuer=d.get("issuer"), issuer_code=d.get("issuer_code"), pass_number=d.get("pass_number"),
            issue_count=d.get("issue_count"), card_version=d.get("card_version"), photo=photo, fingerprint=fingerprint,
        )
        try:
            card.raw_text = encode_text(card)
        except ValueError as exc:
            raise InvalidData("card_invalid", f"card data: {exc}", "shorten the field to what the card can hold") from None
        return card


def _bad(key: str, reason: str) -> InvalidData:
    return InvalidData("card_invalid", f"card data: {key} {reason}", "fix the card JSON file (see devices/idcard/samples/)")


def _size(d: dict, key: str, default: int) -> int:
    value = d.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4096:
        raise _bad(key, f"must be a byte count from 0 to 4096, got {value!r}")
    return value


def synthetic_fingerprint(size: int) -> bytes:
    """Opaque 512-byte templates with the GA 467 header byte 'C' (reference §7.2), for simulated cards."""
    out = bytearray()
    finger = 0x0B  # right thumb
    while len(out) < size:
        template = bytearray(512)
        template[0:7] = bytes([0x43, 0x01, 0x00, 0x00, 0x01, finger, 0x50])
        out += template
        finger += 1
    return bytes(out[:size])


def _iso_date(value: str, name: str, offset: int, allow_long_term: bool = False) -> str:
    if allow_long_term and value == LONG_TERM:
        return value
    try:
        if len(value) != 8 or not value.isascii():
            raise ValueError
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        raise FrameError(
            f"frame byte {offset}: {name} is not a date (YYYYMMDD{' or 长期' if allow_long_term else ''})", offset,
        ) from None


def _date_text(value: str) -> str:
    return value if value == LONG_TERM else value.replace("-", "")


def card_from_text(block: bytes, base: int = TEXT_OFFSET) -> CardData:
    """Decode a 256-byte text block; `base` is its offset in the frame, used in error messages."""
    card_type, f = textblock.split_fields(block, base)
    offsets = {name: off for name, off, _ in textblock.LAYOUTS[card_type]}
    card = CardData(
        card_type=card_type,
        id_number=f["id_number"],
        gender_code=f["gender_code"],
        birth_date=_iso_date(f["birth_date"], "birth date", base + offsets["birth_date"]),
        valid_from=_iso_date(f["valid_from"], "valid-from date", base + offsets["valid_from"]),
        valid_to=_iso_date(f["valid_to"], "valid-to date", base + offsets["valid_to"], allow_long_term=True),
        name=_none_if_blank(f.get("name")),
        name_en=_none_if_blank(f.get("name_en")),
        raw_text=bytes(block),
    )
    if card_type == "resident":
        card.ethnicity_code = f["ethnicity_code"]
    if card_type in ("resident", "gat_residence"):
        card.address = _none_if_blank(f["address"])
        card.issuer = _none_if_blank(f["issuer"])
    if card_type == "gat_residence":
        card.pass_number = _none_if_blank(f["pass_number"])
        card.issue_count = _none_if_blank(f["issue_count"])
    if card_type == "foreign_permanent_2017":
        card.nationality_code = _none_if_blank(f["nationality_code"])
        card.issuer_code = _none_if_blank(f["issuer_code"])
        card.card_version = _none_if_blank(f["card_version"])
    if card_type == "foreign_permanent_2023":
        card.nationality_code = _none_if_blank(f["nationality_code"])
        card.issue_count = _none_if_blank(f["issue_count"])
    return card


def encode_text(card: CardData) -> bytes:
    """The 256-byte text block for `card` (the simulator's side of `card_from_text`)."""
    if card.raw_text:
        return card.raw_text
    fields = {
        "name": card.name, "name_en": card.name_en, "gender_code": card.gender_code, "ethnicity_code": card.ethnicity_code,
        "birth_date": _date_text(card.birth_date), "address": card.address, "id_number": card.id_number,
        "issuer": card.issuer, "valid_from": _date_text(card.valid_from), "valid_to": _date_text(card.valid_to),
        "pass_number": card.pass_number, "issue_count": card.issue_count, "nationality_code": card.nationality_code,
        "issuer_code": card.issuer_code, "card_version": card.card_version,
    }
    return textblock.build_block(card.card_type, fields)


def _require_ok(reply: Reply, what: str) -> None:
    if reply.sw3 != SW3_OK:
        text = SW3_TEXT.get(reply.sw3, "unknown status")
        raise FrameError(f"frame byte 9: SW3 is {reply.sw3:02X} ({text}), not 90: this is not {what}", 9,
                         "give the reply to a successful 30 01 or 30 10 command")


def split_read_reply(reply: Reply) -> tuple[int, bytes, bytes, bytes]:
    """(text offset in frame, text, photo, fingerprint) of a `30 01` or `30 10` reply, by its embedded BE lengths."""
    data = reply.data
    n = len(data)
    if n < 4:
        raise FrameError(f"frame bytes 10-13: a card reply carries block lengths there; the frame has only {n} data bytes", 10 + n)
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if 4 + text_len + photo_len == n:  # 30 01 (reference §5.3)
        base, fp_len = TEXT_OFFSET, 0
    elif n >= 6 and 6 + text_len + photo_len + int.from_bytes(data[4:6], "big") == n:  # 30 10 (reference §5.4)
        base, fp_len = TEXT_OFFSET_FP, int.from_bytes(data[4:6], "big")
    else:
        raise FrameError(
            f"frame bytes 10-13: text length {text_len} + photo length {photo_len} (+ fingerprint length) do not add up "
            f"to the {n} data bytes of the frame", 10,
        )
    if text_len != textblock.TEXT_SIZE:
        raise FrameError(f"frame bytes 10-11: text length is {text_len}, expected {textblock.TEXT_SIZE}", 10)
    start = base - 10
    text = data[start:start + text_len]
    photo = data[start + text_len:start + text_len + photo_len]
    fingerprint = data[start + text_len + photo_len:start + text_len + photo_len + fp_len]
    return base, text, photo, fingerprint


def decode_read_reply(frame: bytes | Reply) -> CardData:
    """A card from a complete `30 01` or `30 10` reply frame; raises FrameError saying which check failed, at which byte."""
    reply = frame if isinstance(frame, Reply) else parse_reply(frame)
    _require_ok(reply, "a card reply")
    base, text, photo, fingerprint = split_read_reply(reply)
    card = card_from_text(text, base)
    card.photo, card.fingerprint = photo, fingerprint
    return card


def decode_address_reply(frame: bytes | Reply) -> str | None:
    """The latest appended address from a `30 03` reply; None when the card has none (SW3 91)."""
    reply = frame if isinstance(frame, Reply) else parse_reply(frame)
    if reply.sw3 == SW3_NO_CONTENT:
        return None
    _require_ok(reply, "a latest-address reply")
    if len(reply.data) != ADDRESS_SIZE:
        raise FrameError(f"latest-address reply carries {len(reply.data)} data bytes, expected {ADDRESS_SIZE}", 10)
    try:
        return reply.data.decode("utf-16-le").rstrip(" \x00") or None
    except UnicodeDecodeError:
        raise FrameError("frame byte 10: latest address is not UCS-2 text", 10) from None


def encode_address(address: str) -> bytes:
    raw = address.encode("utf-16-le")
    if len(raw) > ADDRESS_SIZE:
        raise ValueError(f"latest address is too long: {len(address)} characters, at most {ADDRESS_SIZE // 2}")
    return raw + " ".encode("utf-16-le") * ((ADDRESS_SIZE - len(raw)) // 2)


def encode_read_data(card: CardData, with_fingerprint: bool) -> bytes:
    """Data part of a `30 01` / `30 10` reply for `card` (lengths + blocks)."""
    text = encode_text(card)
    head = len(text).to_bytes(2, "big") + len(card.photo).to_bytes(2, "big")
    if with_fingerprint:
        return head + len(card.fingerprint).to_bytes(2, "big") + text + card.photo + card.fingerprint
    return head + text + card.photo
