"""The delivery threads the relays share (kiosk/hub/lease_worker.py): one poller, the rest woken by work."""
from __future__ import annotations

import logging
import threading
import time

from kiosk.hub.lease_worker import LeaseWorker

from hub_support import wait_for


class Queue(LeaseWorker):
    """A worker over an in-memory list: each row takes `work_s` to deliver."""

    def __init__(self, threads: int, poll_s: float, work_s: float = 0.0) -> None:
        super().__init__(None, logging.getLogger("test.lease_worker"), poll_s=poll_s, retry_base_s=1.0,
                         retry_max_s=1.0, lease_s=10.0, threads=threads)
        self.rows: list[int] = []
        self.done: list[int] = []
        self.work_s = work_s
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def run_once(self) -> bool:
        with self.lock:
            if not self.rows:
                return False
            row = self.rows.pop(0)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.work_s)
        with self.lock:
            self.in_flight -= 1
            self.done.append(row)
        return True


def test_an_idle_worker_asks_once_per_poll_interval_whatever_its_threads():
    worker = Queue(threads=16, poll_s=0.05)
    worker.start()
    try:
        time.sleep(1.0)
    finally:
        worker.stop()
    # about 20 looks by the poller plus one first look by each thread; sixteen pollers would make ~320
    assert worker.polls < 80, worker.polls


def test_a_backlog_brings_every_thread_in_and_each_row_is_delivered_once():
    worker = Queue(threads=8, poll_s=60.0, work_s=0.05)
    worker.start()
    try:
        wait_for(lambda: len(worker._idle) == 8, timeout=5)  # all asleep; the poller next looks in a minute
        with worker.lock:
            worker.rows.extend(range(64))
        worker.wake()  # as the hub does when it accepts a case
        wait_for(lambda: len(worker.done) == 64, timeout=10)
    finally:
        worker.stop()
    assert sorted(worker.done) == list(range(64))
    assert worker.max_in_flight == 8


def test_a_wake_while_every_thread_is_busy_is_not_lost():
    worker = Queue(threads=1, poll_s=60.0, work_s=0.3)
    worker.rows.append(1)
    worker.start()
    try:
        wait_for(lambda: worker.in_flight == 1, timeout=5)
        with worker.lock:
            worker.rows.append(2)
        worker.wake()  # nobody is idle: the thread must look again when it finishes, not sleep a minute
        wait_for(lambda: worker.done == [1, 2], timeout=5)
    finally:
        worker.stop()


def test_stop_ends_sleeping_threads():
    worker = Queue(threads=4, poll_s=60.0)
    worker.start()
    threads = list(worker._threads)
    wait_for(lambda: len(worker._idle) == 4, timeout=5)
    worker.stop(timeout=5)
    assert not any(t.is_alive() for t in threads)
