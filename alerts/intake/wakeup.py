"""Wake a worker to process stored webhooks: one task per storm, not per webhook.

Every task runs ``deliveries.delivery_process``, which drains the inbox (every
pending delivery, in bulk batches), so under a storm one task serves all the
webhooks stored before it starts.  Two Redis keys coordinate the web processes with
the draining task, so that most webhooks of a storm cost no Redis call at all:

``QUEUED_KEY`` says "a task is queued and has not started yet":

1. the web process commits the delivery, *then* tries ``SET QUEUED_KEY NX``;
2. a task deletes the key *before* its first claim of pending deliveries.

If the SET fails, the key was set by an earlier webhook whose task has not deleted it
yet; that task deletes it after our commit, so its claims see our delivery.  If the
SET succeeds, we publish a task ourselves.  The key expires (``TTL``) so a lost task
costs at most that long before webhooks publish again.

``PROMISE_KEY`` holds a time P: "a draining task will begin a claim at or after P".
The task keeps the promise: it stops only after a claim that began at or after the
latest P it published, and while it finds work it keeps moving P ahead
(:class:`Drain`).  A web process that commits before P (less ``CLOCK_MARGIN``, for
clock skew between hosts) can therefore rely on that claim and do nothing; it
remembers P, so during a storm it asks Redis a few times a second, not once per
webhook.  Past P it falls back to the queued-task key above.

If the task dies before keeping its promise, or the clocks of the web and worker
hosts differ by more than ``CLOCK_MARGIN``, a webhook can wait for the periodic
sweep (``DELIVERY_SWEEP_SECONDS``), which remains the backstop for everything, as
when the broker is down: nothing is ever lost, only later.

Only with a Redis broker (production).  With any other broker every webhook
publishes its own task, which drains the inbox all the same.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from alerts import queue

logger = logging.getLogger(__name__)


QUEUED_KEY = "oncall:alerts:drain-queued"


PROMISE_KEY = "oncall:alerts:drain-promise"


TTL = 10  # seconds


# How far ahead of its last claim a draining task promises its next one.
PROMISE_SECONDS = 0.25


# A web process relies on a promise only if it is at least this far ahead of its
# own clock: bounds the clock skew between web and worker hosts we tolerate.
CLOCK_MARGIN = 0.05


_clients: dict[str, redis.Redis] = {}


# The latest promise this process has seen (epoch seconds, the worker's clock).
_promise_seen = 0.0


def now() -> float:
    """The clock promises are written and read in (epoch seconds): the one place
    a test moves it."""
    return time.time()


def promise_forget() -> None:
    """Forget the promise this process has seen: the next webhook asks Redis (a
    new broker, a test starting afresh)."""
    global _promise_seen
    _promise_seen = 0.0


# One round trip: is a promise far enough ahead (return it), else is a task queued
# (return 0), else mark one queued (return -1: the caller publishes it).
_WAKE_SCRIPT = """
local promise = tonumber(redis.call('GET', KEYS[1]) or '0')
if promise > tonumber(ARGV[1]) then return tostring(promise) end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return '-1' end
return '0'
"""


# Move the promise ahead, never back (two tasks may drain at once).
_PROMISE_SCRIPT = """
local promise = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > promise then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def _client() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        _clients[url] = client
    return client


def wake_processing(delivery_id: int) -> None:
    """After a delivery committed: make sure a task will process it.  Never raises
    (an accepted webhook is stored; the sweep catches up if all else fails)."""
    global _promise_seen
    client = _client()
    if client is not None:
        deadline = now() + CLOCK_MARGIN
        if deadline < _promise_seen:
            return  # a draining task claims after our commit: see the docstring
        try:
            answer = float(
                client.eval(_WAKE_SCRIPT, 2, PROMISE_KEY, QUEUED_KEY, deadline, TTL)
            )
        except redis.RedisError:
            answer = -1  # the broker is Redis too: publishing below fails and is logged
        if answer > 0:
            _promise_seen = answer
            return
        if answer == 0:
            return  # a queued task has not started: it will drain this one too
    queue.publish(queue.PROCESS_DELIVERY, delivery_id)


def queued_task_started() -> None:
    """A processing task is about to claim deliveries: from now on, new webhooks
    must publish their own task (or rely on its promise)."""
    client = _client()
    if client is None:
        return
    try:
        client.delete(QUEUED_KEY)
    except redis.RedisError:
        logger.warning("could not clear the processing wake-up key", exc_info=True)


class Drain:
    """The draining task's side of the promise: publish one before claiming, move it
    ahead while there is work, and say when the task may stop."""

    def __init__(self) -> None:
        self.client = _client()
        self.promised = 0.0
        self.broken = False

    def promise(self) -> None:
        """Promise a claim ``PROMISE_SECONDS`` from now (call before claiming)."""
        if self.client is None or self.broken:
            return
        promised = now() + PROMISE_SECONDS
        try:
            self.client.eval(_PROMISE_SCRIPT, 1, PROMISE_KEY, promised, TTL)
        except redis.RedisError:
            # Nobody relies on a promise Redis never stored, and web processes
            # cannot reach Redis either: they publish tasks (or the sweep runs).
            self.broken = True
            logger.warning("could not publish the drain promise", exc_info=True)
            return
        self.promised = promised

    def wait_before_stopping(self, claim_began: float) -> float:
        """After a claim that found nothing: 0 if the task may stop now (the claim
        began at or after its promise), else how long to wait before claiming
        once more, the claim that keeps the promise."""
        if claim_began >= self.promised:
            return 0.0
        return max(self.promised - now(), 0.001)
