"""Looking after the inbox of stored webhooks: re-enqueue what nobody processed
(the broker was down, a worker died), retry on an operator's request, count what is
pending, prune what is old.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import (
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from alerts import queue
from alerts.models import (
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def deliveries_sweep(
    *,
    now: datetime | None = None,
    grace: timedelta | None = None,
    limit: int = 1000,
) -> int:
    """Enqueue deliveries nobody processed: the broker was down when they arrived,
    a worker died holding them, or processing failed (up to ``MAX_ATTEMPTS``).

    Marks each as attempted now, so the next sweep leaves it alone for ``grace``
    while it waits in the queue.
    """
    now = now or timezone.now()
    if grace is None:
        # Younger than two sweep intervals: it may still be waiting in the queue.
        grace = timedelta(seconds=2 * settings.DELIVERY_SWEEP_SECONDS)
    cutoff = now - grace
    ids = list(
        WebhookDelivery.objects.filter(
            Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff),
            processed_at__isnull=True,
            received_at__lt=cutoff,
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    WebhookDelivery.objects.filter(pk__in=ids).update(last_attempt_at=now)
    for delivery_id in ids:
        queue.publish(queue.PROCESS_DELIVERY, delivery_id)
    logger.info("sweep re-enqueued %d unprocessed deliveries", len(ids))
    return len(ids)


def delivery_retry(*, delivery_ids: list[int]) -> int:
    """Operator asked to process these again (admin action): reset and enqueue."""
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(
            pk__in=delivery_ids, processed_at__isnull=True
        ).update(attempts=0, error="", last_attempt_at=None)
        for delivery_id in delivery_ids:
            queue.publish_on_commit(queue.PROCESS_DELIVERY, delivery_id)
    return count


def unprocessed_count() -> dict[str, Any]:
    qs = WebhookDelivery.objects.filter(processed_at__isnull=True)
    return {
        "pending": qs.filter(attempts__lt=MAX_ATTEMPTS).count(),
        "failed": qs.filter(attempts__gte=MAX_ATTEMPTS).count(),
    }


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Delete processed deliveries older than the retention period: the inbox is a
    buffer and an audit trail, not an archive (alerts and incidents keep the facts)."""

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERTMANAGER_DELIVERY_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(
        processed_at__isnull=False, received_at__lt=cutoff
    ).delete()
    return deleted
