"""The schedule version: one counter that every change to what a feed shows bumps.

Services that write shifts, overrides, rotations, teams or members call
:func:`schedule_changed`; the bump runs once their transaction commits, in its own
statement, so a long materialization never holds the counter's row lock (a poll
in between renders the new schedule under the old version, and the bump makes
the next poll render again: late by milliseconds, never stale).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from scheduling.models import ScheduleVersion

# What a database without the row yet (a fresh install, a flushed test database)
# reads as: version 0, unchanged since long ago.
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
ROW = 1


@dataclass(frozen=True)
class Version:
    number: int
    changed_at: dt.datetime


def _bump() -> None:
    now = timezone.now()
    updated = ScheduleVersion.objects.filter(pk=ROW).update(
        version=F("version") + 1, changed_at=now
    )
    if not updated:
        _, created = ScheduleVersion.objects.get_or_create(
            pk=ROW, defaults={"version": 1, "changed_at": now}
        )
        if not created:  # made by a concurrent bump just now
            ScheduleVersion.objects.filter(pk=ROW).update(
                version=F("version") + 1, changed_at=now
            )


def schedule_changed() -> None:
    """Record that the schedule changed, once the current transaction commits."""
    transaction.on_commit(_bump)


def schedule_version() -> Version:
    row = ScheduleVersion.objects.filter(pk=ROW).first()
    if row is None:
        return Version(0, EPOCH)
    return Version(row.version, row.changed_at)
