"""The 256-byte text block of a `30 01` / `30 10` reply: field layouts for the four card types (reference §6).

UCS-2LE (GB 13000), fixed width, padded with U+0020. Byte 248 (char 124) flags the card type:
space = resident ID, 'J' 港澳台居民居住证, 'I' 2017 外国人永久居留身份证, 'Y' 2023 外国人永久居留身份证.
"""
from __future__ import annotations

from devices.idcard.frames import FrameError

TEXT_SIZE = 256
FLAG_OFFSET = 248  # GA 467 text block: UCS-2 char 124 is the card-type flag (reference §6.5)
PAD = " "

# (field, byte offset, byte size) — reference §6.1 to §6.4.
RESIDENT = (
    ("name", 0, 30),
    ("gender_code", 30, 2),
    ("ethnicity_code", 32, 4),
    ("birth_date", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("reserved", 220, 36),
)
GAT_RESIDENCE = (  # 'J'
    ("name", 0, 30),
    ("gender_code", 30, 2),
    ("reserved1", 32, 4),
    ("birth_date", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("pass_number", 220, 18),
    ("issue_count", 238, 4),
    ("reserved2", 242, 6),
    ("flag", 248, 2),
    ("reserved3", 250, 6),
)
FOREIGN_2017 = (  # 'I'
    ("name_en", 0, 120),
    ("gender_code", 120, 2),
    ("id_number", 122, 30),
    ("nationality_code", 152, 6),
    ("name", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("birth_date", 220, 16),
    ("card_version", 236, 4),
    ("issuer_code", 240, 8),
    ("flag", 248, 2),
    ("reserved", 250, 6),
)
FOREIGN_2023 = (  # 'Y'
    ("name", 0, 30),
    ("gender_code", 30, 2),
    ("issue_count", 32, 4),
    ("birth_date", 36, 16),
    ("name_en_1", 52, 70),
    ("id_number", 122, 36),
    ("reserved", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("name_en_2", 220, 22),
    ("nationality_code", 242, 6),
    ("flag", 248, 2),
    ("previous_number_link", 250, 6),
)

CARD_TYPES = {
    " ": ("resident", RESIDENT),
    "J": ("gat_residence", GAT_RESIDENCE),
    "I": ("foreign_permanent_2017", FOREIGN_2017),
    "Y": ("foreign_permanent_2023", FOREIGN_2023),
}
LAYOUTS = {card_type: layout for card_type, layout in CARD_TYPES.values()}
FLAGS = {card_type: flag for flag, (card_type, _) in CARD_TYPES.items()}
NAME_EN_1_CHARS = 35  # 'Y': English name chars 1–35 at 52, chars 36–46 at 220


def card_type_of(block: bytes, base: int = 0) -> str:
    """The card type named by the flag at byte 248; `base` is where the block starts in the frame (for messages)."""
    flag = block[FLAG_OFFSET:FLAG_OFFSET + 2]
    if flag == b"\x00\x00":  # some modules pad the reserved area with NULs on resident cards
        flag = b" \x00"
    try:
        ch = flag.decode("utf-16-le")
    except UnicodeDecodeError:
        ch = None
    if ch not in CARD_TYPES:
        raise FrameError(
            f"frame byte {base + FLAG_OFFSET}: unknown card-type flag {flag.hex(' ').upper()} (expected space, 'J', 'I' or 'Y')",
            base + FLAG_OFFSET, "this card type is not supported; use a resident ID or a residence/permanent-residence card",
        )
    return CARD_TYPES[ch][0]


def split_fields(block: bytes, base: int = 0) -> tuple[str, dict[str, str]]:
    """Card type and raw field strings (trailing spaces and NULs stripped, inner spaces kept)."""
    if len(block) != TEXT_SIZE:
        raise FrameError(f"text block is {len(block)} bytes, expected {TEXT_SIZE}", base)
    card_type = card_type_of(block, base)
    fields: dict[str, str] = {}
    for name, offset, size in LAYOUTS[card_type]:
        raw = block[offset:offset + size]
        try:
            text = raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise FrameError(f"frame byte {base + offset}: field {name} is not UCS-2 text", base + offset) from None
        fields[name] = text if name.startswith("name_en_") else text.rstrip(" \x00")
    if card_type == "foreign_permanent_2023":
        # The English name is split at a fixed character boundary: join before stripping so a space there survives.
        fields["name_en"] = (fields.pop("name_en_1") + fields.pop("name_en_2")).rstrip(" \x00")
    return card_type, fields


def _put(buf: bytearray, offset: int, size: int, value: str | None, name: str) -> None:
    raw = (value or "").encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{name} is too long for the card: {len(raw) // 2} characters, at most {size // 2}")
    buf[offset:offset + size] = raw + PAD.encode("utf-16-le") * ((size - len(raw)) // 2)


def build_block(card_type: str, fields: dict[str, str | None]) -> bytes:
    """The 256-byte block for `fields` (inverse of split_fields; used by the simulator)."""
    if card_type not in LAYOUTS:
        raise ValueError(f"unknown card type {card_type!r}")
    values = dict(fields)
    if card_type == "foreign_permanent_2023":
        name_en = (values.get("name_en") or "").ljust(NAME_EN_1_CHARS)
        values["name_en_1"], values["name_en_2"] = name_en[:NAME_EN_1_CHARS], name_en[NAME_EN_1_CHARS:]
    values["flag"] = FLAGS[card_type]
    buf = bytearray(PAD.encode("utf-16-le") * (TEXT_SIZE // 2))
    for name, offset, size in LAYOUTS[card_type]:
        _put(buf, offset, size, values.get(name), name)
    return bytes(buf)
