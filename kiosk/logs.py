"""Structured log lines to stderr, with personal data redacted (DESIGN §6).

Three layers: extras are masked by field name (`log.info("card read", extra={"id_number": …})`),
raw device frames are dropped by name, and `scrub` runs over the finished line, exception text included.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time

from kiosk.privacy.masking import mask_value, scrub

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime", "taskName"}

# Database error texts carry the statement's parameters (SQLAlchemy's "[parameters: …]") and PostgreSQL's
# DETAIL line repeats the row ("Failing row contains (…)", "Key (…)=(…)"): names and addresses, unmasked.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background on this error|\Z)", re.DOTALL)
_PG_DETAIL = re.compile(r"\b(DETAIL|HINT|CONTEXT|WHERE):[^\n]*")
# Identifiers that are not personal and must stay readable so a log line can be matched to its case; the
# pattern filter would otherwise take a 20-digit 办件编号 or a hex upload id for a card number or a frame.
IDENTIFIER_FIELDS = {"case_no", "receipt_no", "upload_id", "item_code", "key_id", "worker"}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def redact_sql(text: str) -> str:
    """Drop the bound parameters and row details from a database error text."""
    if not text or ("[parameters:" not in text and ":" not in text):
        return text
    text = _SQL_PARAMETERS.sub("[parameters: redacted]", text)
    return _PG_DETAIL.sub(lambda m: f"{m.group(1)}: [redacted]", text)


class RedactingFormatter(logging.Formatter):
    """`ts level logger message key=value…`, one line per record; nothing personal survives."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        message = redact_sql(message).replace("\x1e", " ")
        fields = []
        kept: list[str] = []
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key in IDENTIFIER_FIELDS and isinstance(value, str) and _IDENTIFIER.match(value):
                kept.append(json.dumps(value))
                fields.append(f"{key}=\x1e{len(kept) - 1}\x1e")
                continue
            masked = mask_value(key, value)
            if not isinstance(masked, (str, int, float, bool)) and masked is not None:
                masked = str(masked)
            if isinstance(masked, str):
                masked = redact_sql(masked)
            fields.append(f"{key}={json.dumps(masked, ensure_ascii=False)}")
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"
        line = f"{ts} {record.levelname} {record.name} {message}"
        if fields:
            line += " " + " ".join(fields)
        if record.exc_info:
            line += " | " + redact_sql(self.formatException(record.exc_info)).replace("\n", " | ").replace("\x1e", " ")
        elif record.exc_text:
            line += " | " + redact_sql(record.exc_text).replace("\n", " | ").replace("\x1e", " ")
        line = scrub(line)
        for i, value in enumerate(kept):
            line = line.replace(f"\x1e{i}\x1e", value, 1)
        return line


_configured = False


def setup_logging(level: str | int | None = None) -> None:
    """Route every logger (Kivy's too, when KIVY_LOG_MODE=PYTHON) to stderr through the redacting formatter."""
    global _configured
    level = level or os.environ.get("KIOSK_LOG_LEVEL", "INFO")
    root = logging.getLogger()
    if not _configured:
        for h in list(root.handlers):
            root.removeHandler(h)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter())
        root.addHandler(handler)
        _configured = True
    root.setLevel(level if isinstance(level, int) else level.upper())
    for noisy in ("urllib3", "multipart", "asyncio", "PIL", "tusclient"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
