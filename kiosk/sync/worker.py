"""A background thread that drains a queue every `interval_s` seconds, or at once when woken."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class DrainWorker:
    """Calls `outbox.drain(client)` whenever `has_work()` says there is something to send. `wake()` drains now;
    `stop()` returns within about its timeout (an HTTP call in flight finishes on its own: daemon thread)."""

    thread_name = "drain-worker"

    def __init__(self, outbox, client, interval_s: float = 15.0,
                 on_result: Callable[[dict], None] | None = None) -> None:
        self.outbox = outbox
        self.client = client
        self.interval_s = interval_s
        self.on_result = on_result
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_result: dict | None = None

    def has_work(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.has_work():
                    self.last_result = self.outbox.drain(self.client, should_stop=self._stop.is_set)
                    if self.on_result is not None:
                        self.on_result(self.last_result)
            except Exception:
                log.exception("%s: drain failed", self.thread_name)
            self._wake.wait(self.interval_s)
            self._wake.clear()  # a wake() that came during the drain is spent: the next round waits again
