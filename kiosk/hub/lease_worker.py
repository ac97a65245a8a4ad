"""What the hub's delivery workers share (the case relay, kiosk/hub/relay.py, and the 代收 supplements relay,
kiosk/hub/supplements_relay.py): threads that each claim one row at a time with a lease and deliver it, woken
early by `wake()`, stopped by `stop()`; retries with exponential backoff and jitter; an unexpected error (an
adapter bug, bad data) retried a few times and then the row set aside, so nothing is lost and nothing loops.

A subclass implements `run_once()` (claim and deliver one row; False when nothing was due) and may override
`_pass(index)` for work of its own around it and `_idle_wait()` for how long an idle thread sleeps.

Only the first thread polls: when nothing is due it sleeps `_idle_wait()` and looks again, while the other idle
threads sleep until woken. `wake()` (a new row) wakes one idle thread, and every thread that claims a row wakes
one more, so a backlog brings all threads in within a few claims and an idle worker asks the database once per
poll interval however many threads it has.
"""
from __future__ import annotations

import logging
import random
import threading
import uuid
from typing import Callable

from kiosk.hub.logs_throttle import Throttle

MAX_UNEXPECTED_ATTEMPTS = 5  # an error that is not the platform's: then the row is set aside


class LeaseWorker:
    prefix = "worker"  # of the worker id (and its threads' names)
    what = "worker"  # what log lines call it

    def __init__(self, hub, log: logging.Logger, *, poll_s: float, retry_base_s: float, retry_max_s: float,
                 lease_s: float, threads: int = 1) -> None:
        self.hub = hub
        self.log = log
        self.worker_id = f"{self.prefix}-{uuid.uuid4().hex[:8]}"
        self.poll_s = poll_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.lease_s = lease_s
        self.concurrency = max(1, threads)
        self._stop = threading.Event()
        self._events: list[threading.Event] = []  # one per thread: its wake-up
        self._idle: list[int] = []  # threads asleep, most recent last
        self._idle_lock = threading.Lock()
        self._wake_pending = False  # a wake() that found every thread busy: the next to go idle looks again
        self.polls = 0  # passes that found nothing (an idle worker's database load)
        self._threads: list[threading.Thread] = []
        self._throttle = Throttle(log, every_s=60.0)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads. Each claims its own row (the claim is the lock), so several rows are in
        flight at once while each row's steps still run in order in one thread."""
        if not self._threads:
            self._stop.clear()
            self._idle.clear()
            self._events = [threading.Event() for _ in range(self.concurrency)]
            self._threads = [threading.Thread(target=self._loop, args=(i,), name=f"{self.worker_id}-{i}", daemon=True)
                             for i in range(self.concurrency)]
            for t in self._threads:
                t.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._idle_lock:
            self._stop.set()
            for event in self._events:
                event.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def wake(self) -> None:
        """A row may be due: one idle thread looks now (or, if all are busy, the next one to finish)."""
        self._wake_one(pending=True)

    def _wake_one(self, pending: bool) -> None:
        with self._idle_lock:
            if self._idle:
                self._events[self._idle.pop()].set()
            elif pending:
                self._wake_pending = True

    def _loop(self, index: int = 0) -> None:
        while not self._stop.is_set():
            try:
                worked = self._pass(index)
            except Exception as exc:  # the database went away, say: keep the worker alive and try again later
                worked = self._pass_failed(exc)
            if worked:
                self._wake_one(pending=False)  # more may be due: another thread looks too
            else:
                self._sleep(index)

    def _sleep(self, index: int) -> None:
        """The poller (thread 0) for `_idle_wait()`, the others until woken."""
        event = self._events[index]
        with self._idle_lock:
            self.polls += 1
            if self._wake_pending or self._stop.is_set():
                self._wake_pending = False
                return
            event.clear()
            self._idle.append(index)
        event.wait(self._idle_wait() if index == 0 else None)
        with self._idle_lock:
            if index in self._idle:
                self._idle.remove(index)

    def _pass(self, index: int) -> bool:
        return self.run_once()

    def _pass_failed(self, exc: Exception) -> bool:
        """A pass raised; True to try again at once."""
        self._throttle.exception(f"{self.what} pass failed", exc, key="pass")
        return False

    def _idle_wait(self) -> float:
        return self.poll_s

    def run_once(self) -> bool:
        raise NotImplementedError

    # -- retries -----------------------------------------------------------------------------
    def backoff_s(self, attempts: int) -> float:
        """The wait before attempt `attempts + 1`: doubling from retry_base_s up to retry_max_s, with jitter so
        rows (and kiosks) that failed together do not retry in step."""
        delay = min(self.retry_max_s, self.retry_base_s * (2 ** max(0, attempts - 1)))
        return delay * random.uniform(0.75, 1.0)

    def unexpected(self, exc: Exception, attempts: int, retry: Callable[[str], None], set_aside: Callable[[str], None],
                   **log_extra) -> None:
        """An error that is not the platform's: retried, then set aside after MAX_UNEXPECTED_ATTEMPTS."""
        from kiosk.logs import redact_sql

        self.log.exception(f"{self.what} error", extra=log_extra)
        error = redact_sql(f"{type(exc).__name__}: {exc}")[:500]
        if attempts >= MAX_UNEXPECTED_ATTEMPTS:
            set_aside(f"set aside after {MAX_UNEXPECTED_ATTEMPTS} attempts: {error}")
        else:
            retry(error)
