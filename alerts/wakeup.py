"""Wake a worker to process stored webhooks: one task per storm, not per webhook.

Every task runs ``deliveries.delivery_process``, which drains the inbox (every
pending delivery, in bulk batches), so under a storm one queued task serves all the
webhooks stored before it starts.  A Redis key says "a task is queued and has not
started yet"; while it exists, storing a webhook publishes nothing.  The correctness
argument, in order of events:

1. the web process commits the delivery, *then* tries ``SET key NX``;
2. a task deletes the key *before* its first claim of pending deliveries.

If the SET fails, the key was set by an earlier webhook whose task has not deleted it
yet; that task deletes it after our commit, so its claims see our delivery.  If the
SET succeeds, we publish a task ourselves.  The key expires (``TTL``) so a lost task
costs at most that long before webhooks publish again; the periodic sweep remains
the backstop for everything, as when the broker is down.

Only with a Redis broker (production).  With any other broker every webhook
publishes its own task, which drains the inbox all the same.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY = "oncall:alerts:drain-queued"
TTL = 10  # seconds

_clients: dict[str, redis.Redis] = {}


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
    from alerts.tasks import process_delivery

    client = _client()
    if client is not None:
        try:
            if not client.set(KEY, "1", nx=True, ex=TTL):
                return  # a queued task has not started: it will drain this one too
        except redis.RedisError:
            pass  # the broker is Redis too: publishing below fails and is logged
    try:
        process_delivery.apply_async(args=(delivery_id,))
    except Exception:
        logger.warning("could not enqueue delivery %s; the sweep will", delivery_id)


def queued_task_started() -> None:
    """A processing task is about to claim deliveries: from now on, new webhooks
    must publish their own task."""
    client = _client()
    if client is None:
        return
    try:
        client.delete(KEY)
    except redis.RedisError:
        logger.warning("could not clear the processing wake-up key", exc_info=True)
