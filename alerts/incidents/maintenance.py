"""The end of maintenance windows: incidents opened during a window (or paused by
one) start escalating when it ends, through ``incident_end_maintenance``.

Where windows act: intake opens incidents in a window with escalation held;
the engine pauses a chain whose next step falls in a window
(``escalation.engine.escalation_pause_for_maintenance``); windows are
read through ``alerts.selectors``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.incidents.state import incident_end_maintenance
from alerts.models import (
    OPEN_STATUSES,
    Incident,
    MaintenanceWindow,
)


def maintenance_sweep(*, now: datetime | None = None) -> int:
    """Clear the flag on open incidents no active window covers any more."""
    now = now or timezone.now()
    covering = MaintenanceWindow.objects.filter(
        Q(integration_id=OuterRef("integration_id")) | Q(team_id=OuterRef("team_id")),
        starts_at__lte=now,
        ends_at__gt=now,
    )
    ended = Incident.objects.filter(
        in_maintenance=True, status__in=OPEN_STATUSES
    ).exclude(Exists(covering))
    count = 0
    for incident in ended:
        incident_end_maintenance(incident=incident, at=now)
        count += 1
    return count
