"""The service item's own form (`form_fields` in the catalog): labels in the kiosk's language, and validation
with the reason in words. Pure Python, used by the form screen and the platform simulator alike.

Field types: choice | digits | number | date | text | address; optional `max_len`, `min_len`, `pattern`.
Reasons are gettext message ids (marked with N_) with `{label}`, `{n}` placeholders the screen fills in.
"""
from __future__ import annotations

import datetime as dt
import re

from kiosk import china_time
from kiosk.i18n import N_

TYPES = ("choice", "digits", "number", "date", "text", "address")
TEXT_MAX = 100
ADDRESS_MIN = 6  # a postal address shorter than this cannot be delivered to

REQUIRED = N_("Please fill in {label}.")
NOT_A_CHOICE = N_("Please choose one of the options for {label}.")
DIGITS_ONLY = N_("{label} may contain digits only.")
NOT_A_NUMBER = N_("{label} must be a number, for example 10 or 2.5.")
BAD_DATE = N_("{label} must be a real date: year, month and day, for example 2024-03-01.")
FUTURE_DATE = N_("{label} cannot be later than today.")
TOO_SHORT = N_("{label} needs at least {n} characters.")
TOO_LONG = N_("{label} can have at most {n} characters.")
BAD_FORMAT = N_("{label} is not in the expected format.")
ADDRESS_TOO_SHORT = N_("{label} is too short to deliver to: please give the district, street and house number.")


def label(field: dict, language: str) -> str:
    if language == "en" and field.get("label_en"):
        return field["label_en"]
    return field.get("label") or field.get("key", "")


def choice_labels(field: dict, language: str) -> list[tuple[str, str]]:
    """(stored value, shown label) for each choice: the value is always the catalog's own (Chinese) choice."""
    choices = [str(c) for c in field.get("choices") or []]
    shown = field.get("choices_en") if language == "en" else None
    if not shown or len(shown) != len(choices):
        shown = choices
    return list(zip(choices, [str(s) for s in shown]))


def parse_date(value: str) -> dt.date | None:
    text = value.strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) != 8:
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def normalise(field: dict, value) -> str:
    """The value as it goes into the case: trimmed; dates as YYYY-MM-DD."""
    text = "" if value is None else str(value).strip()
    if field.get("type") == "date" and text:
        parsed = parse_date(text)
        if parsed is not None:
            return parsed.isoformat()
    return text


def check(field: dict, value, today: dt.date | None = None) -> tuple[str, dict] | None:
    """None when `value` is acceptable, else (reason message id, its extra placeholders)."""
    text = "" if value is None else str(value).strip()
    kind = field.get("type", "text")
    if not text:
        return (REQUIRED, {}) if field.get("required") else None
    if kind == "choice":
        if text not in [str(c) for c in field.get("choices") or []]:
            return NOT_A_CHOICE, {}
    elif kind == "digits":
        if not text.isdigit():
            return DIGITS_ONLY, {}
    elif kind == "number":
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            return NOT_A_NUMBER, {}
    elif kind == "date":
        parsed = parse_date(text)
        if parsed is None or parsed.year < 1900:
            return BAD_DATE, {}
        if parsed > (today or china_time.today()):
            return FUTURE_DATE, {}
    elif kind == "address":
        if len(text) < int(field.get("min_len") or ADDRESS_MIN):
            return ADDRESS_TOO_SHORT, {}
    min_len = field.get("min_len")
    if min_len and len(text) < int(min_len) and kind != "address":
        return TOO_SHORT, {"n": int(min_len)}
    max_len = int(field.get("max_len") or (TEXT_MAX if kind in ("text", "address") else 64))
    if len(text) > max_len:
        return TOO_LONG, {"n": max_len}
    pattern = field.get("pattern")
    if pattern and not re.fullmatch(pattern, text):
        return BAD_FORMAT, {}
    return None


def errors(fields: list[dict], values: dict, today: dt.date | None = None) -> dict[str, tuple[str, dict]]:
    """{key: (reason, placeholders)} for every field that is not acceptable."""
    out = {}
    for field in fields or []:
        problem = check(field, values.get(field.get("key")), today)
        if problem is not None:
            out[field["key"]] = problem
    return out


def missing_required(fields: list[dict], form: dict) -> list[str]:
    """Keys of required fields absent or empty in a submitted form (the platform's own check)."""
    return [f["key"] for f in fields or [] if f.get("required") and not str(form.get(f["key"]) or "").strip()]
