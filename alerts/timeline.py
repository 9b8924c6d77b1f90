"""An incident's timeline: what happened, when, and who did it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from alerts.models import (
    Incident,
    TimelineEntry,
)
from scheduling.models import Member


def timeline_add(
    *,
    incident: Incident,
    kind: str,
    text: str,
    at: datetime | None = None,
    actor: Member | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident, kind=kind, text=text, at=at or timezone.now(), actor=actor
    )
