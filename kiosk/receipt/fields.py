"""Checking and cleaning the data a receipt is printed from: required keys, lengths, dates, choices.

Every value is cleaned (no control characters reach the printer) and capped in length, so a 5,000-character
item name prints as a few wrapped lines ending in "…" instead of a metre of paper.
"""
from __future__ import annotations

from datetime import date, datetime

from devices.printer.document import clean_text
from kiosk.china_time import CST
from kiosk.errors import InvalidInput

MAX_ITEM_NAME = 64
MAX_TEXT = 80
MAX_NAME = 40
MAX_ID = 32
MAX_PHONE = 24
MAX_MATERIALS = 30
MAX_URL = 512


class ReceiptData:
    """Typed access to one receipt's data dict; raises `InvalidInput` naming the key that is missing or wrong."""

    def __init__(self, kind: str, data) -> None:
        if not isinstance(data, dict):
            raise InvalidInput(f"receipt data for {kind!r} must be a JSON object, not {type(data).__name__}",
                               "pass a JSON object with the keys the receipt kind needs (see docs/printer.md)")
        self.kind = kind
        self.data = data

    def require(self, *keys: str) -> None:
        for key in keys:
            if self.data.get(key) is None or (isinstance(self.data.get(key), str) and not self.data[key].strip()):
                raise InvalidInput(f"receipt data for {self.kind!r} is missing the required key {key!r}",
                                   f"add {key!r} to the data (see docs/printer.md for every kind's keys)")

    def _bad(self, key: str, why: str) -> InvalidInput:
        return InvalidInput(f"receipt data for {self.kind!r}: {key!r} {why}", f"fix {key!r} in the data (see docs/printer.md)")

    def text(self, key: str, max_chars: int = MAX_TEXT, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, (dict, list)):
            raise self._bad(key, "must be text")
        return clean_text(value, max_chars)

    def choice(self, key: str, choices) -> str:
        value = self.text(key)
        if value not in choices:
            raise self._bad(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def timestamp(self, key: str) -> datetime:
        value = self.text(key)
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            raise self._bad(key, f"must be an ISO 8601 time with offset such as 2026-11-22T09:30:00+08:00, not {value!r}") from None
        if ts.tzinfo is None:
            raise self._bad(key, f"needs a UTC offset (e.g. +08:00): {value!r}")
        return ts.astimezone(CST)  # printed as people in China read it, whatever zone it was written in

    def day(self, key: str) -> date:
        value = self.text(key)
        try:
            return date.fromisoformat(value)
        except (ValueError, TypeError):
            try:
                return datetime.fromisoformat(value).date()
            except (ValueError, TypeError):
                raise self._bad(key, f"must be a date such as 2026-12-06, not {value!r}") from None

    def url(self, key: str) -> str:
        value = self.data.get(key)
        text = clean_text(value)
        if not isinstance(value, str) or len(text) > MAX_URL or not text.isascii() or not text.lower().startswith(("https://", "http://")) or " " in text:
            raise self._bad(key, f"must be an http(s) address of printable ASCII, at most {MAX_URL} characters")
        return text

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self._bad(key, "must be true or false")
        return value

    def materials(self, key: str) -> list[tuple[str, int | None]]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self._bad(key, "must be a list of {name, pages}")
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or m.get("name") is None:
                raise self._bad(key, f"item {i + 1} must be an object with a name (and pages)")
            pages = m.get("pages")
            if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 0):
                raise self._bad(key, f"item {i + 1}: pages must be a whole number")
            out.append((clean_text(m["name"], MAX_TEXT), pages))
        return out
