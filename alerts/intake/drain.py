"""The processing task's body: drain the inbox in bulk batches.

One task serves every webhook stored before it started: batches through
``intake/batch.py``; a batch that fails is redone one delivery at a time through
``intake/process.py``.  A long backlog is handed to a fresh task every
``DRAIN_SECONDS`` so that escalation and paging tasks run in between.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from alerts import queue
from alerts.intake import wakeup
from alerts.intake.batch import deliveries_process_batch
from alerts.intake.process import delivery_process_one, delivery_record_failure
from alerts.intake.wakeup import Drain
from alerts.models import (
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

# Bounds the time one task spends draining a backlog; a task that runs out hands
# the rest to a fresh task at the back of the queue.  Short, so that during a long
# storm the escalation and paging tasks queued meanwhile run in between: with one
# worker process a page must never wait behind the whole storm.
DRAIN_SECONDS = 2.0


def delivery_process(*, delivery_id: int, batch: bool = True) -> str:
    """Process one delivery; returns what it did (also stored on the row).

    With ``batch`` (the default, what the task does) this drains the inbox first:
    every pending delivery, oldest first, in bulk batches, including this one.
    Under a storm one task serves every webhook stored before it started
    (``alerts.intake.wakeup`` then publishes no task for them at all).
    """
    if batch:
        wakeup.queued_task_started()  # before the first claim: see alerts.intake.wakeup
        deliveries_drain()
        result = (
            WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=False)
            .values_list("result", flat=True)
            .first()
        )
        if result is not None:
            return result
    return delivery_process_one(delivery_id)


def deliveries_drain(*, seconds: float = DRAIN_SECONDS) -> int:
    """Process pending deliveries until none is left; returns how many.

    Bulk batches; if a batch fails it rolls back whole, and its deliveries are
    processed one by one instead, each failure recorded on its own row.  Keeps the
    promise of ``alerts.intake.wakeup`` (a last claim at or after the promised time).
    After ``seconds`` with work still pending, hands the rest to a fresh task at
    the back of the queue.
    """
    deadline = time.monotonic() + seconds
    limit = settings.ALERTMANAGER_BATCH_SIZE
    wait = settings.ALERTMANAGER_BATCH_WAIT_MS / 1000
    drain = Drain()
    drain.promise()
    total = 0
    while True:
        began = time.time()
        try:
            claimed = deliveries_process_batch(limit=limit)
        except Exception:
            logger.warning(
                "batch processing failed; processing one by one", exc_info=True
            )
            claimed = _process_pending_one_by_one()
        if not claimed:
            pause = drain.wait_before_stopping(began)
            if not pause:
                return total
            time.sleep(pause)
            continue
        total += claimed
        if time.monotonic() >= deadline and _hand_over():
            return total
        if claimed < limit and wait:
            # The inbox is empty and webhooks are still arriving (a storm): wait for
            # a fuller batch rather than spend a transaction on every few of them.
            # Per-batch costs are most of a small batch's; under a storm the worker
            # would otherwise take the CPU the web processes need to accept.
            time.sleep(wait)
        drain.promise()


def _hand_over() -> bool:
    """Publish a fresh task for what is still pending (True), so that the escalation
    and paging tasks queued meanwhile run first; False if nothing is pending."""
    oldest = (
        WebhookDelivery.objects.filter(processed_at__isnull=True, error="")
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if oldest is None:
        return False
    queue.publish(queue.PROCESS_DELIVERY, oldest)
    return True


def _process_pending_one_by_one(limit: int = 100) -> int:
    ids = list(
        WebhookDelivery.objects.filter(processed_at__isnull=True, error="")
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        try:
            delivery_process_one(pk)
        except Exception as exc:
            # Recorded (so the drain moves on); the sweep retries it later.
            logger.exception("delivery %s failed", pk)
            delivery_record_failure(
                delivery_id=pk, error=f"{type(exc).__name__}: {exc}"
            )
    return len(ids)
