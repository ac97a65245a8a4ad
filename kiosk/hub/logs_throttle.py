"""Repeated failures logged once a minute, not once a pass: a relay polling a full disk or a dead database
must not fill the disk it is waiting on with the same traceback (issue 13: 23.6 MB in 28 minutes)."""
from __future__ import annotations

import logging
import threading
import time


class Throttle:
    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.log = logger
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def _due(self, key: str) -> int | None:
        """None to stay quiet; else how many were suppressed since the last line."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.every_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._suppressed.pop(key, 0)

    def exception(self, message: str, exc: BaseException, key: str | None = None) -> None:
        key = key or message
        n = self._due(key)
        if n is None:
            return
        extra = {"repeated": n} if n else {}
        self.log.error(message, exc_info=(type(exc), exc, exc.__traceback__), extra=extra)

    def warning(self, message: str, key: str | None = None, extra: dict | None = None) -> None:
        key = key or message
        n = self._due(key)
        if n is None:
            return
        extra = dict(extra or {})
        if n:
            extra["repeated"] = n
        self.log.warning(message, extra=extra)
