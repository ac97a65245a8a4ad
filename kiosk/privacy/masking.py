"""Masking rules, one per kind of personal data (DESIGN §6), and `scrub`, the pattern filter of last resort.

| kind | rule | example |
| document number | first character and last four kept | 6*************0063 |
| mobile | first three and last four | 137****9050 |
| landline | area code and last four | 029-****5678 |
| name | first character kept, every other character masked | 欧*** |
| address | first nine characters kept | 陕西省西安市周至县****** |
"""
from __future__ import annotations

import re
import threading
import unicodedata

STAR = "*"
ADDRESS_KEEP = 9
ADDRESS_TAIL = STAR * 6  # fixed length: the mask does not reveal how long the address is


def mask_document_number(value: str | None) -> str | None:
    if value is None:
        return None
    v = "".join(str(value).split())
    if len(v) <= 5:
        return STAR * len(v)
    return v[0] + STAR * (len(v) - 5) + v[-4:]


def mask_mobile(value: str | None) -> str | None:
    if value is None:
        return None
    digits = re.sub(r"[\s-]", "", str(value))
    prefix = ""
    if digits.startswith("+86"):
        prefix, digits = "+86", digits[3:]
    if len(digits) < 8:
        return STAR * len(digits)
    return prefix + digits[:3] + STAR * (len(digits) - 7) + digits[-4:]


def mask_landline(value: str | None) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    m = re.fullmatch(r"(\(?0\d{2,3}\)?)[\s-]*(\d{5,8})((?:-\d{1,6})?)", v)
    if not m:
        return mask_document_number(v)
    area, local = m.group(1), m.group(2)
    return f"{area}-{STAR * (len(local) - 4)}{local[-4:]}"


def mask_phone(value: str | None) -> str | None:
    """A phone number of either kind: mobile or landline."""
    if value is None:
        return None
    v = re.sub(r"[\s]", "", str(value))
    if re.fullmatch(r"(\+86)?1\d{10}", v.replace("-", "")):
        return mask_mobile(v)
    return mask_landline(str(value))


def mask_name(value: str | None) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    if not v:
        return v
    return v[0] + STAR * (len(v) - 1)


def mask_address(value: str | None) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    if len(v) <= ADDRESS_KEEP:
        return v[: max(0, len(v) - 3)] + ADDRESS_TAIL if len(v) > 3 else ADDRESS_TAIL
    return v[:ADDRESS_KEEP] + ADDRESS_TAIL


# Field names (as used in card JSON, forms, log extras) and the rule that masks them.
FIELD_RULES = {
    "id_number": mask_document_number,
    "applicant_id_number": mask_document_number,
    "pass_number": mask_document_number,
    "document_number": mask_document_number,
    "name": mask_name,
    "name_en": mask_name,
    "applicant_name": mask_name,
    "citizen_name": mask_name,
    "recipient_name": mask_name,
    "phone": mask_phone,
    "mobile": mask_mobile,
    "landline": mask_landline,
    "address": mask_address,
    "address_latest": mask_address,
    "applicant_address": mask_address,
}

# Fields that must never leave in any form (raw frames, photos, fingerprints).
DROP_FIELDS = {"frame", "raw_frame", "raw_text_hex", "photo", "fingerprint", "wlt", "pin", "password", "token",
               "pickup_code"}  # a pickup code with the receipt number it belongs to would take the result


def mask_value(field: str, value):
    """Mask `value` by the rule for `field`; unknown fields pass through."""
    if field in DROP_FIELDS:
        return "[redacted]"
    rule = FIELD_RULES.get(field)
    if rule is None or value is None or not isinstance(value, str):
        return value
    return rule(value)


def mask_mapping(data: dict) -> dict:
    """A copy of `data` with every personal field masked by name."""
    return {k: mask_value(k, v) for k, v in data.items()}


# ---------------------------------------------------------------------------------------------
# The pattern filter: the last line of defence for text that slipped through (log messages,
# exception text). It normalises full-width forms first (NFKC), so ＩＤ digits are caught too.

_SEP = r"[ \t\-]?"
_PATTERNS: list[tuple[re.Pattern, object]] = []


def _add(pattern: str, repl, flags=0) -> None:
    _PATTERNS.append((re.compile(pattern, flags), repl))


def _squash(s: str) -> str:
    return re.sub(r"[\s\-]", "", s)


# Python bytes literals with escapes: raw device frames.
_add(r"b(['\"])(?:\\x[0-9a-fA-F]{2}|[^'\"\\]|\\.){4,}?\1", "[bytes redacted]")
# Byte-spaced hex dumps (aa aa aa 96 69 …): raw frames, whatever their content.
_add(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}[ :]){7,}[0-9A-Fa-f]{2}(?![0-9A-Za-z])", "[hex redacted]")
# 18-character resident / 港澳台 residence / 2023 permanent-residence numbers (GB 11643), spaces allowed.
_add(r"(?<![0-9A-Za-z])\d(?:" + _SEP + r"\d){16}" + _SEP + r"[\dXx](?![0-9A-Za-z])", lambda m: mask_document_number(_squash(m.group(0))))
# 2017 foreigner permanent residence: 3 letters + 12 digits.
_add(r"(?<![0-9A-Za-z])[A-Za-z]{3}" + r"\d{12}(?![0-9A-Za-z])", lambda m: mask_document_number(m.group(0)))
# First-generation 15-digit IDs.
_add(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])", lambda m: mask_document_number(m.group(0)))
# Mobile numbers, optionally +86 and grouped 3-4-4.
_add(r"(?<![0-9A-Za-z])(?:\+86[ \-]?)?1[3-9]\d(?:" + _SEP + r"\d{4}){2}(?![0-9A-Za-z])", lambda m: mask_mobile(_squash(m.group(0))))
# Landlines.
_add(r"(?<![0-9A-Za-z])0\d{2,3}-\d{7,8}(?![0-9A-Za-z])", lambda m: mask_landline(m.group(0)))
# 港澳居民来往内地通行证 (H/M + 8 or 10 digits) and 台湾居民来往大陆通行证 (8 digits after a label).
_add(r"(?<![0-9A-Za-z])[HMhm]\d{8}(?:\d{2})?(?![0-9A-Za-z])", lambda m: mask_document_number(m.group(0)))
# Long hex runs (frames, UCS-2 text) and long digit runs (bank cards): 8 bytes or more, optionally
# byte-spaced. Runs after the number patterns so those keep their readable masked form.
_add(r"(?<![0-9A-Za-z*])(?:[0-9A-Fa-f]{2}[ :]?){7,}[0-9A-Fa-f]{2}(?![0-9A-Za-z*])", lambda m: "[hex redacted]" if re.search(r"\d", m.group(0)) else m.group(0))
# Labelled values: name=…, 姓名：…, address: …, 住址 …
_add(
    r"(?P<label>\b(?:name|name_en|applicant_name|citizen_name)\b|姓名)(?P<sep>\s*[=:：]\s*['\"]?)(?P<val>[^'\",;，；\s]+(?: [A-Z][A-Za-z]+)*)",
    lambda m: m.group("label") + m.group("sep") + mask_name(m.group("val")),
)
_add(
    r"(?P<label>\b(?:address|address_latest)\b|住址|地址)(?P<sep>\s*[=:：]\s*['\"]?)(?P<val>[^'\",;，；\s]+)",
    lambda m: m.group("label") + m.group("sep") + mask_address(m.group("val")),
)


class _SensitiveValues:
    """Values known to be personal for the current session (a citizen's name, address), scrubbed wherever they appear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def add(self, field: str, value: str | None) -> None:
        if not value or not isinstance(value, str) or len(value.strip()) < 2:
            return
        masked = mask_value(field, value)
        with self._lock:
            self._values[value.strip()] = masked if isinstance(masked, str) else "[redacted]"

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def apply(self, text: str) -> str:
        with self._lock:
            items = sorted(self._values.items(), key=lambda kv: -len(kv[0]))
        for raw, masked in items:
            if raw in text:
                text = text.replace(raw, masked)
        return text


sensitive_values = _SensitiveValues()


def scrub(text: str) -> str:
    """Mask every personal value found in free text. Idempotent."""
    if not text:
        return text
    text = unicodedata.normalize("NFKC", text)
    text = sensitive_values.apply(text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
