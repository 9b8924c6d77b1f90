"""The end of maintenance windows: incidents opened during a window (or paused by
one) start escalating when it ends, through ``incident_end_maintenance``.

Where windows act: intake opens incidents in a window with escalation held;
the engine pauses a chain whose next step falls in a window
(``escalation.engine.escalation_pause_for_maintenance``); windows are
read through ``alerts.selectors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.incidents.state import incident_end_maintenance
from alerts.models import (
    OPEN_STATUSES,
    Incident,
    Integration,
    MaintenanceWindow,
)
from scheduling.models import Team


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


# --- writing windows: the admin, the API and configuration files --------------

MAINTENANCE_FIELDS = ("team", "integration", "starts_at", "ends_at", "reason")


def _check_window(window: MaintenanceWindow) -> None:
    errors: dict[str, list[str]] = {}
    for field in ("starts_at", "ends_at"):
        value = getattr(window, field)
        if isinstance(value, datetime) and (
            value.tzinfo is None or value.utcoffset() is None
        ):
            errors[field] = [
                "has no UTC offset; give one (e.g. +03:00) or Z, so the instant "
                "is unambiguous"
            ]
    if errors:
        raise ValidationError(errors)
    if (window.team_id is None) == (window.integration_id is None):
        errors["non_field_errors"] = ["choose a team or an integration, not both"]
    try:
        window.full_clean(exclude=["team", "integration", "created_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(
                "non_field_errors" if field == "__all__" else field, []
            ).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def maintenance_create(
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    team: Team | None = None,
    integration: Integration | None = None,
    created_by: Any = None,  # a user (the project's user model), or None
) -> MaintenanceWindow:
    """A window for a team or an integration (exactly one).  Incidents opened
    while it is active are recorded and not escalated; when it ends (or is
    deleted) the sweep starts their escalation.  ``ValidationError`` for naive
    times, an end not after the start, no or two targets."""
    window = MaintenanceWindow(
        team=team,
        integration=integration,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=created_by,
    )
    return maintenance_save(window=window)


@transaction.atomic
def maintenance_save(*, window: MaintenanceWindow) -> MaintenanceWindow:
    """Check and save ``window`` as its fields stand (the admin's form sets them)."""
    _check_window(window)
    window.save()
    return window


@transaction.atomic
def maintenance_update(*, window: MaintenanceWindow, **fields: Any) -> bool:
    """Change the given fields; saves nothing when nothing differs."""
    unknown = set(fields) - set(MAINTENANCE_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a maintenance window: {sorted(unknown)}")
    dirty = [f for f, v in fields.items() if getattr(window, f) != v]
    if not dirty:
        return False
    for field in dirty:
        setattr(window, field, fields[field])
    _check_window(window)
    window.save(update_fields=dirty)
    return True


def maintenance_delete(*, window: MaintenanceWindow) -> None:
    """Delete a window; incidents it held start escalating at the next sweep."""
    window.delete()
