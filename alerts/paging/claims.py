"""Claiming due pages for the sweep, with a lease; taking back pages whose
sending worker was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from alerts.leases import claim_with_lease
from alerts.models import Page


def pages_claim(
    *, now: datetime, limit: int, ahead: timedelta = timedelta(0)
) -> list[tuple[int, datetime]]:
    """For the sweep: pages due by ``now + ahead`` to (re)enqueue, as (id, due at),
    each leased so the next sweeps skip it.

    A ``sending`` page whose lease ran out belonged to a worker that died between
    claim and send: it goes back to ``queued``.
    """
    with transaction.atomic():
        Page.objects.filter(status=Page.Status.SENDING, claimed_until__lte=now).update(
            status=Page.Status.QUEUED,
            claimed_until=None,
            error="the worker sending it was lost; sending again",
        )
        return claim_with_lease(
            Page.objects.all(),
            ready=Q(status=Page.Status.QUEUED),
            due_field="due_at",
            lease_field="claimed_until",
            now=now,
            ahead=ahead,
            lease=timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS),
            limit=limit,
        )
