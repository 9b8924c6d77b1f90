"""How a Celery worker stops: quickly and without losing work.

Two things made Ctrl-C on ``make run`` slow (5-7 s, then honcho's SIGKILL):

* Brokers without an event loop of their own (the embedded filesystem transport,
  kombu's SQLAlchemy transport) run Celery's blocking ``synloop``, which waits up to
  2 s in ``drain_events`` before it looks at the shutdown flag a SIGTERM set.
  ``Consumer`` below keeps that loop but caps each wait at ``DRAIN_WAIT_SECONDS``:
  an idle worker polls a little more often (the filesystem transport's own polling
  interval stays the pace), and notices a SIGTERM within that cap.
* After a clean stop, the interpreter's final garbage collection over everything
  Django and Celery loaded took about a second on a busy machine.  ``_on_shutdown``
  freezes the heap once the worker has closed everything, so that last collection
  has nothing to walk; nothing is left to clean up by then.

Nothing is lost by stopping at once: tasks are acknowledged late
(``CELERY_TASK_ACKS_LATE``), a warm shutdown lets running tasks finish, and every
piece of work also lives in the database (unprocessed webhooks, due escalation steps
and pages), where the periodic sweeps find it again, so even a message lost with a
killed worker only delays that work to the next sweep.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from celery.signals import worker_shutdown
from celery.worker import loops
from celery.worker.consumer import Consumer as CeleryConsumer

# Longest single wait for a message in the blocking loop; also how late a SIGTERM
# is noticed.  Short enough to stop well inside honcho's patience, long enough that
# an idle worker is not busy.
DRAIN_WAIT_SECONDS = 0.25


def _synloop_with_short_waits(
    obj: Any, connection: Any, *args: Any, **kwargs: Any
) -> Any:
    """Celery's ``synloop``, with each ``drain_events`` wait capped."""
    drain = connection.drain_events

    def drain_briefly(timeout: float | None = None, **kw: Any) -> Any:
        cap = DRAIN_WAIT_SECONDS
        return drain(timeout=cap if timeout is None else min(timeout, cap), **kw)

    connection.drain_events = drain_briefly
    try:
        return loops.synloop(obj, connection, *args, **kwargs)
    finally:
        # Back to the connection's own method (the consumer may reconnect and loop
        # again with the same connection object).
        del connection.drain_events


class Consumer(CeleryConsumer):
    """Celery's consumer; only the blocking loop's waits are shorter."""

    # The loop Celery's __init__ picks (blocking or event loop); celery-types does
    # not declare it.
    loop: Callable[..., Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.loop is loops.synloop:
            self.loop = _synloop_with_short_waits


@worker_shutdown.connect
def _on_shutdown(**kwargs: Any) -> None:
    # Sent after the worker closed its pool and broker connection.
    gc.freeze()
