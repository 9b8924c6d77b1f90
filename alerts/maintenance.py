"""Maintenance windows: incidents are recorded and flagged, not escalated.

An incident opened during a window that is still open when the window ends starts
escalating then (``maintenance_sweep``): the alert outlived the maintenance, so it is
real.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.incidents import incident_end_maintenance
from alerts.models import OPEN_STATUSES, Incident, MaintenanceWindow


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
