"""Group commit: writes that arrive while one is under way are made together, each caller gets its own result."""
from __future__ import annotations

import threading

import pytest

from hub_support import wait_for
from kiosk.hub.group_commit import GroupCommit


def _run_while_the_first_writes(first: int, others: list[int], bad: int | None = None, error=ValueError, **options):
    """`first` writes alone, held until `others` have called and queued; the write refuses `bad`. Returns the
    group, each caller's result and the batches written."""
    first_in, release, batches = threading.Event(), threading.Event(), []

    def write(items):
        batches.append(sorted(items))
        if len(batches) == 1:
            first_in.set()
            release.wait(20)
        if bad in items:
            raise error(f"item {bad} cannot be written")
        return [item * 10 for item in items]

    group = GroupCommit(write, **options)
    results = {}
    threads = _callers(group, [first], results)
    assert first_in.wait(20)
    threads += _callers(group, others, results)
    wait_for(lambda: len(group._queue) == len(others))
    release.set()
    for t in threads:
        t.join(20)
    return group, results, batches


def _callers(group, items, results):
    def call(item):
        try:
            results[item] = group(item)
        except Exception as exc:
            results[item] = exc

    threads = [threading.Thread(target=call, args=(item,)) for item in items]
    for t in threads:
        t.start()
    return threads


def test_a_lone_write_is_made_at_once_and_answers_its_result():
    group = GroupCommit(lambda items: [item * 10 for item in items])
    assert group(4) == 40 and group(5) == 50
    assert (group.batches, group.items) == (2, 2)


def test_writes_that_arrive_during_a_write_are_made_together_each_with_its_own_result():
    group, results, batches = _run_while_the_first_writes(1, [2, 3, 4])
    assert batches == [[1], [2, 3, 4]] and (group.batches, group.items) == (2, 4)
    assert results == {1: 10, 2: 20, 3: 30, 4: 40}


def test_a_bad_item_fails_its_own_caller_and_nobody_elses():
    group, results, batches = _run_while_the_first_writes(1, [12, 13, 14], bad=13)
    assert results[1] == 10 and results[12] == 120 and results[14] == 140
    assert isinstance(results[13], ValueError)
    assert batches[1] == [12, 13, 14] and sorted(batches[2:]) == [[12], [13], [14]]  # the batch, then each alone
    assert group(15) == 150  # and the group goes on


def test_an_error_that_is_not_an_items_fails_the_whole_batch_at_once():
    """The database away: every caller of the batch gets the error, nobody is written again alone."""
    group, results, batches = _run_while_the_first_writes(1, [12, 13, 14], bad=13, error=ConnectionError,
                                                           alone=lambda exc: not isinstance(exc, ConnectionError))
    assert results[1] == 10 and all(isinstance(results[i], ConnectionError) for i in (12, 13, 14))
    assert batches == [[1], [12, 13, 14]]
    # each caller raised an object of its own (one object raised in three threads mixes their tracebacks), each
    # saying what the write's own error says
    errors = [results[i] for i in (12, 13, 14)]
    assert len({id(e) for e in errors}) == 3 and {str(e) for e in errors} == {"item 13 cannot be written"}
    original = next(e for e in errors if e.__cause__ is None)
    assert all(e.__cause__ is original for e in errors if e is not original)


def test_a_shared_database_error_is_copied_with_its_details():
    """The relay's errors are SQLAlchemy's: each caller's copy keeps the statement and the driver's error."""
    from sqlalchemy.exc import OperationalError

    from kiosk.hub.group_commit import _twin

    driver = ConnectionRefusedError("connection refused")
    error = OperationalError("UPDATE cases SET status=?", {"id": 1}, driver)
    twin = _twin(error)
    assert twin is not error and type(twin) is OperationalError and twin.orig is driver
    assert twin.statement == "UPDATE cases SET status=?" and str(twin) == str(error) and twin.__cause__ is error


def test_a_lone_failure_is_raised_to_its_caller():
    def write(items):
        raise RuntimeError("database gone")

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="database gone"):
        group(1)
    assert group._busy is False
