"""Claiming due escalation steps for the sweep, with a lease."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from alerts.leases import claim_with_lease
from alerts.models import Escalation


def escalations_claim(
    *, now: datetime, limit: int, ahead: timedelta = timedelta(0)
) -> list[tuple[int, datetime]]:
    """Claim escalations due by ``now + ahead`` for enqueueing: (id, due at).

    The lease (``enqueued_until``) keeps the next sweeps from enqueueing the same
    row while its task waits in the broker; if the task is lost, the lease runs out
    and a later sweep enqueues it again.  Looking ahead by one sweep interval lets
    the sweep publish each task with an ETA of exactly its due time (never more
    than a few seconds away), so steps fire on time rather than up to one interval
    late.
    """
    return claim_with_lease(
        Escalation.objects.all(),
        ready=Q(state=Escalation.State.ACTIVE),
        due_field="next_action_at",
        lease_field="enqueued_until",
        now=now,
        ahead=ahead,
        lease=timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS),
        limit=limit,
    )


def escalations_due_in(
    *, incident_ids: Iterable[int], now: datetime | None = None
) -> dict[int, float]:
    """Seconds until each active escalation's next step (absent: none)."""
    now = now or timezone.now()
    return {
        pk: (due - now).total_seconds()
        for pk, due in Escalation.objects.filter(
            pk__in=list(incident_ids),
            state=Escalation.State.ACTIVE,
            next_action_at__isnull=False,
        ).values_list("pk", "next_action_at")
        if due is not None  # never, given the filter; says so to the type checker
    }
