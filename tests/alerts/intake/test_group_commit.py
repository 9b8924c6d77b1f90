"""The group commit (alerts/intake/group_commit.py): what each caller gets back, and
how callers that arrive while a write runs share the next one.

Each test holds the first write open until the other threads have queued, so the
batches are known, not hoped for.
"""

from __future__ import annotations

import threading

import pytest

from alerts.intake.group_commit import GroupCommit
from tests.processes import wait_until


class Refused(Exception):
    """What the fake database raises for an item it will not take."""


class Writer:
    """A ``write`` that records its batches; the first call waits for ``release``."""

    def __init__(self, *, refuse: str = "", fail_all: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.refuse = refuse
        self.fail_all = fail_all

    def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release.wait(30), "the test never released the first write"
        if self.fail_all:
            raise ConnectionError("database went away")
        if self.refuse in items:
            raise Refused(f"{self.refuse} refused")
        return [f"id-of-{item}" for item in items]


def recording(group: GroupCommit, outcome: dict[str, object]):
    """A thread target: pass an item to ``group`` and record its result or
    exception in ``outcome``."""

    def call(item: str) -> None:
        try:
            outcome[item] = group(item)
        except BaseException as error:  # recorded for the test
            outcome[item] = error

    return call


def call_concurrently(group: GroupCommit, writer: Writer, items: list[str]) -> dict:
    """``items[0]`` starts alone and blocks in its write; the others queue behind it;
    then the write is released.  Returns each item's result or exception."""
    outcome: dict[str, object] = {}
    call = recording(group, outcome)
    threads = [threading.Thread(target=call, args=(items[0],))]
    threads[0].start()
    assert writer.first_started.wait(30)
    for item in items[1:]:
        threads.append(threading.Thread(target=call, args=(item,)))
        threads[-1].start()
    wait_until(lambda: group.queued() == len(items) - 1, 30, "the others to queue")
    writer.release.set()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return outcome


def test_callers_that_queue_during_a_write_share_the_next_one() -> None:
    writer = Writer()
    group = GroupCommit(writer)
    items = ["a", "b", "c", "d", "e"]
    outcome = call_concurrently(group, writer, items)
    assert outcome == {item: f"id-of-{item}" for item in items}
    assert writer.batches[0] == ["a"]
    assert sorted(writer.batches[1]) == ["b", "c", "d", "e"]
    assert len(writer.batches) == 2


def test_a_batch_holds_at_most_most_items() -> None:
    writer = Writer()
    group = GroupCommit(writer, most=2)
    items = ["a", "b", "c", "d", "e", "f"]
    outcome = call_concurrently(group, writer, items)
    assert outcome == {item: f"id-of-{item}" for item in items}
    assert [len(batch) for batch in writer.batches] == [1, 2, 2, 1]
    assert sorted(sum(writer.batches, [])) == items


def test_an_item_the_database_refuses_fails_alone() -> None:
    writer = Writer(refuse="c")
    group = GroupCommit(writer, split_on=(Refused,))
    outcome = call_concurrently(group, writer, ["a", "b", "c", "d"])
    assert isinstance(outcome.pop("c"), Refused)
    assert outcome == {"a": "id-of-a", "b": "id-of-b", "d": "id-of-d"}
    # The refused batch of three was written again one item at a time.
    assert len(writer.batches[1]) == 3
    assert sorted(writer.batches[2:]) == [["b"], ["c"], ["d"]]


def test_an_error_of_the_whole_write_reaches_every_caller_in_the_batch() -> None:
    writer = Writer(fail_all=True)
    group = GroupCommit(writer, split_on=(Refused,))
    outcome = call_concurrently(group, writer, ["a", "b", "c"])
    assert all(isinstance(error, ConnectionError) for error in outcome.values())
    assert len(writer.batches) == 2  # not split: the error is not an item's
    # b and c shared the second write: whichever led it raised the exception
    # itself, the other raised its own copy, caused by the leader's.
    b, c = outcome["b"], outcome["c"]
    assert b is not c
    leader, follower = (b, c) if c.__cause__ is b else (c, b)
    assert follower.__cause__ is leader and leader.__cause__ is None
    assert str(follower) == str(leader) == "database went away"


def test_a_stopped_leader_leaves_no_caller_waiting() -> None:
    class Stop(BaseException):
        pass

    started, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        batches.append(items)
        if len(batches) == 1:
            started.set()
            release.wait(30)
            return ["id-of-a"]
        raise Stop

    group: GroupCommit[str, str] = GroupCommit(write)
    outcome: dict[str, object] = {}
    call = recording(group, outcome)
    first = threading.Thread(target=call, args=("a",))
    first.start()
    assert started.wait(30)
    others = [threading.Thread(target=call, args=(item,)) for item in "bc"]
    for thread in others:
        thread.start()
    wait_until(lambda: group.queued() == 2, 30, "the others to queue")
    release.set()
    for thread in [first, *others]:
        thread.join(30)
        assert not thread.is_alive()
    assert outcome["a"] == "id-of-a"
    errors = {type(outcome["b"]), type(outcome["c"])}
    # One of b and c led the second write and was stopped; the other was told.
    assert errors == {Stop, RuntimeError}
    assert group.queued() == 0


def test_most_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(lambda items: items, most=0)


def test_a_leader_stopped_while_writing_a_refused_batch_row_by_row() -> None:
    """The second batch is refused, so it is written again one item at a time; the
    leader's thread is stopped at the first of those: the items not yet written are
    failed, not left waiting."""

    class Stop(BaseException):
        pass

    writer = Writer(refuse="b")

    def write(items: list[str]) -> list[str]:
        if len(items) == 1 and items != ["a"]:
            raise Stop
        return writer(items)

    group: GroupCommit[str, str] = GroupCommit(write, split_on=(Refused,))
    outcome = call_concurrently(group, writer, ["a", "b", "c", "d"])
    assert outcome.pop("a") == "id-of-a"
    assert len(writer.batches[1]) == 3  # b, c and d, refused together
    # Whoever of b, c and d led that batch was stopped; the other two were told.
    assert sorted(type(error).__name__ for error in outcome.values()) == [
        "RuntimeError",
        "RuntimeError",
        "Stop",
    ]
    assert group.queued() == 0
