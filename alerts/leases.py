"""Claiming due rows with a lease: the one pattern behind every sweep.

The database decides what is due; a sweep claims it by setting a lease column
(``enqueued_until``, ``claimed_until``) so the next sweeps skip the row while its
task waits in the broker.  If the task is lost the lease runs out and a later sweep
claims the row again, so nothing is lost and a duplicated message finds nothing
left to do (the task's own claim is a conditional update on the row's state).

On PostgreSQL ``SKIP LOCKED`` leaves a row that another transaction holds (a task
firing it, a person acknowledging) to that transaction: concurrent sweeps claim
disjoint sets and never wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from django.db import models, transaction
from django.db.models import F, Q

M = TypeVar("M", bound=models.Model)


def claim_with_lease(
    rows: models.QuerySet[M],
    *,
    ready: Q,
    lease_field: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    due_field: str | None = None,
    ahead: timedelta = timedelta(0),
    order_by: str | None = None,
) -> list[tuple[int, datetime]]:
    """Claim up to ``limit`` of ``rows`` that are ``ready`` and not leased (their
    ``lease_field`` empty or past), oldest due first; returns (id, due at).

    With ``due_field``, a row is due once ``due_field <= now + ahead``; a row due
    in the future (looked ahead by one sweep interval, so its task can be published
    with a countdown to its due time) is leased until its due time plus ``lease``,
    the others until ``now + lease``.  Without it every ready row is due ``now``.
    """
    free = Q(**{f"{lease_field}__isnull": True}) | Q(**{f"{lease_field}__lte": now})
    due = ready & free
    if due_field is not None:
        due &= Q(**{f"{due_field}__lte": now + ahead})
    fields = ["pk", due_field] if due_field is not None else ["pk"]
    with transaction.atomic():
        found = list(
            rows.select_for_update(skip_locked=True)
            .filter(due)
            .order_by(order_by or due_field or "pk")
            .values_list(*fields)[:limit]
        )
        if not found:
            return []
        claimed = rows.filter(due, pk__in=[row[0] for row in found])
        if due_field is None:
            claimed.update(**{lease_field: now + lease})
            return [(row[0], now) for row in found]
        claimed.filter(**{f"{due_field}__lte": now}).update(
            **{lease_field: now + lease}
        )
        claimed.filter(**{f"{due_field}__gt": now}).update(
            **{lease_field: F(due_field) + lease}
        )
    return [(pk, due_at) for pk, due_at in found]
