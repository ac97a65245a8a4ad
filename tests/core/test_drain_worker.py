"""The kiosk's outbox senders: one drain per wake or interval, never a spin, and a clean stop."""
from __future__ import annotations

import threading
import time

from kiosk.sync.action_outbox import ActionOutbox, ActionOutboxWorker
from kiosk.sync.worker import DrainWorker


class CountingWorker(DrainWorker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.checks = 0

    def has_work(self) -> bool:
        self.checks += 1
        return True


class Box:
    def __init__(self) -> None:
        self.drains = 0
        self.drained = threading.Event()

    def drain(self, client, should_stop=None) -> dict:
        self.drains += 1
        self.drained.set()
        return {"sent": 1}


def _wait(cond, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "worker did not act"
        time.sleep(0.01)


def test_a_wake_drains_once_and_then_the_worker_waits_again():
    box, results = Box(), []
    worker = CountingWorker(box, client=None, interval_s=60.0, on_result=results.append)
    worker.start()
    try:
        _wait(lambda: box.drains == 1)  # the first round runs at once
        worker.wake()
        _wait(lambda: box.drains == 2)
        time.sleep(0.3)
        assert box.drains == 2 and worker.checks == 2, "the worker kept draining without being woken"
        assert results == [{"sent": 1}, {"sent": 1}] and worker.last_result == {"sent": 1}
    finally:
        worker.stop(timeout=2.0)
    assert worker._thread is None


def test_a_drain_that_raises_does_not_kill_the_worker():
    class Failing(Box):
        def drain(self, client, should_stop=None):
            super().drain(client, should_stop)
            raise RuntimeError("hub exploded")

    box = Failing()
    worker = CountingWorker(box, client=None, interval_s=60.0)
    worker.start()
    try:
        _wait(lambda: box.drains == 1)
        worker.wake()
        _wait(lambda: box.drains == 2)
    finally:
        worker.stop(timeout=2.0)


def test_action_outbox_worker_drains_only_when_something_waits(tmp_path):
    box = ActionOutbox(tmp_path)
    calls = []

    class Client:
        def request(self, method, path, **kwargs):
            calls.append((method, path))
            raise AssertionError("nothing should be sent")

    worker = ActionOutboxWorker(box, Client(), interval_s=60.0)
    assert worker.has_work() is False
    box.enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": "K0001-20261201-0001", "level": 5})
    assert worker.has_work() is True
