"""Group commit: the writes that threads of one process make at the same moment
share one statement and one commit.

Why: a webhook is answered 2xx only once its row is committed, and with PostgreSQL's
stock settings (``fsync`` and ``synchronous_commit`` on) a commit waits for the WAL to
reach the disk.  Those flushes take one lock in turn; measured under the intake
benchmark, each took 0.65-0.9 ms and the lock was held 55-60% of every second, so a
request's INSERT sometimes queued for it for 100-280 ms (the p99 of
``make bench-intake``).  PostgreSQL's own ``commit_delay`` would group the flushes, but
it is a server setting that managed databases and the compose file leave at 0.

How: each caller queues its item and takes the writer lock.  Whoever holds the lock
and finds its own item still unwritten is the leader: it writes everything queued
(its own item and those of the threads that queued while the previous leader wrote)
with one call of ``write``, then hands the results out.  A thread that gets the lock
and finds its item already written returns at once.  Nobody waits for a batch to
fill: a write that finds no one else queued is a batch of one, exactly as before.

What each caller is told is what happened to its own item: the result, or the
exception, raised again in its own thread.  When a batch fails with an error that a
single item can cause (``split_on``), its items are written one by one, so one bad
item fails only its own caller.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Queued(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Run ``write`` on batches of the items that callers pass at the same moment.

    ``write`` takes a list of items and returns their results in the same order; it
    runs in the leader's thread (with that thread's database connection).  At most
    ``most`` items go into one call.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], list[Result]],
        *,
        most: int = 64,
        split_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        if most < 1:
            raise ValueError("most must be at least 1")
        self.write = write
        self.most = most
        self.split_on = split_on
        self._queue: list[_Queued[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()

    def __call__(self, item: Item) -> Result:
        mine: _Queued[Item, Result] = _Queued(item)
        with self._queue_lock:
            self._queue.append(mine)
        led = False
        with self._writer:
            while not mine.done:
                led = True
                with self._queue_lock:
                    batch = self._queue[: self.most]
                    del self._queue[: self.most]
                try:
                    self._write(batch)
                finally:
                    # Only if this thread is being stopped (SystemExit,
                    # KeyboardInterrupt) mid-write: the others must not wait for a
                    # write that will never finish, nor re-run one whose outcome
                    # is unknown; this thread's own caller gets the exception.
                    _fail(
                        [queued for queued in batch if not queued.done],
                        RuntimeError("the thread writing this batch was stopped"),
                    )
        if mine.error is not None:
            if led:
                raise mine.error
            # The leader's exception, raised again here: a copy, so that two
            # threads never chain their tracebacks onto one object.
            raise copy.copy(mine.error) from mine.error
        return mine.result  # type: ignore[return-value]

    def queued(self) -> int:
        """Items waiting for a leader (for tests and diagnostics)."""
        with self._queue_lock:
            return len(self._queue)

    def _write(self, batch: list[_Queued[Item, Result]]) -> None:
        try:
            results = self.write([queued.item for queued in batch])
            if len(results) != len(batch):
                raise RuntimeError(
                    f"write returned {len(results)} results for {len(batch)} items"
                )
        except self.split_on as error:
            if len(batch) == 1:
                _fail(batch, error)
                return
            for queued in batch:
                self._write([queued])
            return
        except Exception as error:  # handed to every caller
            _fail(batch, error)
            return
        for queued, result in zip(batch, results, strict=True):
            queued.result = result
            queued.done = True


def _fail(batch: list[_Queued], error: BaseException) -> None:
    for queued in batch:
        queued.error = error
        queued.done = True
