"""Structured log lines to stderr, with personal data redacted (DESIGN §6).

Three layers: extras are masked by field name (`log.info("card read", extra={"id_number": …})`),
raw device frames are dropped by name, and `scrub` runs over the finished line, exception text included.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time

from kiosk.privacy.masking import mask_value, scrub

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime", "taskName"}


class RedactingFormatter(logging.Formatter):
    """`ts level logger message key=value…`, one line per record; nothing personal survives."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        fields = []
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            masked = mask_value(key, value)
            if not isinstance(masked, (str, int, float, bool)) and masked is not None:
                masked = str(masked)
            fields.append(f"{key}={json.dumps(masked, ensure_ascii=False)}")
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"
        line = f"{ts} {record.levelname} {record.name} {message}"
        if fields:
            line += " " + " ".join(fields)
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        elif record.exc_text:
            line += " | " + record.exc_text.replace("\n", " | ")
        return scrub(line)


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
