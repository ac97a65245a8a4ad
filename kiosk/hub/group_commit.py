"""Group commit: threads that each have a small write to make hand it to one of them, who makes them all in one
transaction.

The first thread to arrive writes its own item at once (no added wait when the hub is quiet). Threads that
arrive while that write is under way queue their items, and when it commits one of them takes the whole queue
and writes it in one transaction: under load one BEGIN, one lock of the audit chain and one COMMIT (one flush of
the database's log) serve many items instead of one each. Every caller returns only once its own item has
committed, with its own result, so a caller sees what it would have seen writing alone.

If a batch of several fails as a whole, each of its items is written again alone, so an item that cannot be
written fails its own caller and nobody else's — unless `alone(error)` says the error is not an item's (the
database is away, say): then every caller gets it at once, instead of each waiting for its turn to fail again.
Each caller raises an exception object of its own (one object raised in several threads would mix their
tracebacks): a copy whose cause is the write's own error.
"""
from __future__ import annotations

import copy
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item) -> None:
        self.item = item
        self.done = False
        self.result = None
        self.error: BaseException | None = None


def _twin(error: Exception) -> Exception:
    """`error` again for another thread to raise: a copy of the same type and message whose cause is `error` (its
    traceback is the write's), or `error` itself if it cannot be copied."""
    try:
        twin = copy.copy(error)
    except Exception:
        return error
    if type(twin) is not type(error) or twin is error:
        return error
    twin.__cause__ = error
    return twin


class GroupCommit(Generic[T, R]):
    def __init__(self, write: Callable[[list[T]], list[R]],
                 alone: Callable[[Exception], bool] = lambda error: True) -> None:
        # write(items) makes every item in one transaction and returns their results in the same order;
        # alone(error): whether a batch that failed with `error` is worth writing again item by item
        self._write = write
        self._alone = alone
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._busy = False
        self.batches = 0  # transactions written (items / batches is the mean batch)
        self.items = 0

    def __call__(self, item: T) -> R:
        slot = _Slot(item)
        with self._cond:
            self._queue.append(slot)
            while self._busy and not slot.done:
                self._cond.wait()
            lead = not slot.done
            if lead:  # nobody is writing: this thread writes what is queued, its own item among them
                self._busy = True
                batch, self._queue = self._queue, []
        if lead:
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self, batch: list[_Slot]) -> None:
        outcomes: list[tuple[object, BaseException | None]] = []
        try:
            outcomes = self._outcomes(batch)
        finally:
            with self._cond:
                for slot, (result, error) in zip(batch, outcomes):
                    slot.result, slot.error = result, error
                for slot in batch[len(outcomes):]:  # the writer itself was interrupted
                    slot.error = RuntimeError("the group write was interrupted")
                for slot in batch:
                    slot.done = True
                self._busy = False
                self._cond.notify_all()

    def _outcomes(self, batch: list[_Slot]) -> list[tuple[object, BaseException | None]]:
        self.batches += 1
        self.items += len(batch)
        try:
            results = self._write([slot.item for slot in batch])
            return [(r, None) for r in results]
        except Exception as exc:
            if len(batch) == 1 or not self._alone(exc):
                return [(None, exc)] + [(None, _twin(exc)) for _ in batch[1:]]
        outcomes: list[tuple[object, BaseException | None]] = []
        for slot in batch:  # the batch failed as a whole: each item alone, so one bad item fails only itself
            try:
                outcomes.append((self._write([slot.item])[0], None))
            except Exception as exc:
                outcomes.append((None, exc))
        return outcomes
