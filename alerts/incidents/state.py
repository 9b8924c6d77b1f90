"""Incident state changes: open, reopen, acknowledge, resolve, end of maintenance.

Every change of an incident's status goes through one function here.  Each writes
its timeline entry in the same transaction, and calls one named hook
(``on_incident_opened``, ``on_incident_acknowledged``, ``on_incident_resolved``,
``on_incident_maintenance_ended``).  The hooks run inside the caller's transaction, so
what attaches to them (the escalation engine) commits or rolls back with the state
change; work that leaves the database is published through ``alerts.queue``.

Two writes to Incident rows happen elsewhere, and are not status changes: intake
counts repeat notifications (``notifications``, ``last_notified_at``), and the
escalation engine flags an incident whose chain a maintenance window paused
(``in_maintenance``; see ``escalation_pause_for_maintenance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts.escalation.engine import (
    escalation_start,
    escalation_stop,
    escalations_start_new,
)
from alerts.incidents.tiers import burn_tiers_opened, burn_tiers_resolved
from alerts.models import (
    OPEN_STATUSES,
    Incident,
    Integration,
    TimelineEntry,
    hash_group_key,
)
from alerts.routing import group_burn_tier
from alerts.timeline import timeline_add
from scheduling.models import Member


class IncidentStateError(ValueError):
    """The change does not apply to the incident in its current state."""


@dataclass(frozen=True)
class IncidentSpec:
    """What is known about a group when its incident opens."""

    group_key: str
    title: str
    team_id: int
    route_id: int | None
    routing: str
    urgency: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str = ""
    truncated_alerts: int = 0
    source: str = Incident.Source.ALERTMANAGER
    # The labels of the group's alerts firing as it opens: its burn-rate tier is
    # read from them (``tiers.py``); none: from ``common_labels``.
    alert_labels: tuple[dict[str, str], ...] = ()


def on_incident_opened(incident: Incident) -> None:
    """An incident was opened (or reopened).  Escalation starts here unless
    ``incident.in_maintenance``."""
    if incident.in_maintenance:
        return
    escalation_start(incident=incident)


def on_incidents_opened(incidents: list[Incident]) -> None:
    """A burst of brand-new incidents (the bulk intake path): escalation starts for
    each, in a fixed number of queries."""
    escalations_start_new(incidents=incidents)


def on_incident_acknowledged(incident: Incident) -> None:
    """Somebody took the incident: escalation stops here."""
    escalation_stop(incident=incident, reason="acknowledged")


def on_incident_resolved(incident: Incident) -> None:
    """The incident is over: escalation stops here, and the slower burn-rate
    tiers it held back escalate again (``tiers.py``)."""
    escalation_stop(incident=incident, reason="resolved")
    burn_tiers_resolved(incident=incident, at=incident.resolved_at or timezone.now())


def on_incident_maintenance_ended(incident: Incident) -> None:
    """An incident opened during maintenance is still open after the window ended:
    escalation starts here, as if it had just opened."""
    if incident.status != Incident.Status.TRIGGERED:
        return  # acknowledged during the window: somebody already owns it
    escalation_start(incident=incident)


@dataclass(frozen=True)
class Opening:
    """One incident to open (see ``incidents_open``)."""

    integration_id: int
    spec: IncidentSpec
    at: datetime
    in_maintenance: bool = False
    maintenance_note: str = ""
    opened_text: str = ""


def incident_open(
    *,
    integration: Integration,
    spec: IncidentSpec,
    in_maintenance: bool = False,
    maintenance_note: str = "",
    opened_text: str = "",
    at: datetime | None = None,
) -> Incident:
    """Open an incident for a group.

    Must run inside a transaction.  Raises ``IntegrityError`` if the group already has
    an open incident (another worker won the race): the caller retries and attaches
    to that one instead.
    """
    [incident] = incidents_open(
        openings=[
            Opening(
                integration_id=integration.pk,
                spec=spec,
                at=at or timezone.now(),
                in_maintenance=in_maintenance,
                maintenance_note=maintenance_note,
                opened_text=opened_text,
            )
        ]
    )
    return incident


def incidents_open(*, openings: list[Opening]) -> list[Incident]:
    """Open several incidents with a few INSERTs (a burst of new groups).

    Same effects as ``incident_open`` for each: the incident, its timeline, the
    ``on_incident_opened`` hook.  Raises ``IntegrityError`` if any group already has
    an open incident; the caller's transaction then rolls back as a whole.
    """
    incidents = [
        Incident(
            integration_id=o.integration_id,
            source=o.spec.source,
            group_key=o.spec.group_key,
            group_key_hash=hash_group_key(o.spec.group_key),
            title=o.spec.title[:500],
            team_id=o.spec.team_id,
            route_id=o.spec.route_id,
            routing=o.spec.routing,
            urgency=o.spec.urgency,
            group_labels=o.spec.group_labels,
            common_labels=o.spec.common_labels,
            common_annotations=o.spec.common_annotations,
            external_url=o.spec.external_url,
            truncated_alerts=o.spec.truncated_alerts,
            in_maintenance=o.in_maintenance,
            opened_at=o.at,
            last_notified_at=o.at,
            notifications=1 if o.spec.source == Incident.Source.ALERTMANAGER else 0,
        )
        for o in openings
    ]
    if len(incidents) == 1:
        incidents[0].save(force_insert=True)
    else:
        Incident.objects.bulk_create(incidents)  # PostgreSQL and SQLite return ids
    entries: list[TimelineEntry] = []
    for incident, o in zip(incidents, openings, strict=True):
        entries += [
            TimelineEntry(
                incident=incident,
                at=o.at,
                kind=TimelineEntry.Kind.OPENED,
                text=o.opened_text or f"opened: {incident.title}",
            ),
            TimelineEntry(
                incident=incident,
                at=o.at,
                kind=TimelineEntry.Kind.ROUTED,
                text=o.spec.routing,
            ),
        ]
        if o.in_maintenance:
            entries.append(
                TimelineEntry(
                    incident=incident,
                    at=o.at,
                    kind=TimelineEntry.Kind.MAINTENANCE,
                    text=o.maintenance_note
                    or "opened during a maintenance window: not escalated",
                )
            )
        if o.spec.truncated_alerts:
            entries.append(_truncation_entry(incident, o.spec.truncated_alerts, o.at))
    TimelineEntry.objects.bulk_create(entries)
    # A slower burn-rate tier of an SLO whose faster tier is open: not escalated.
    held = burn_tiers_opened(
        incidents=incidents,
        at=openings[0].at,
        tiers={
            i.pk: group_burn_tier(o.spec.common_labels, o.spec.alert_labels)
            for i, o in zip(incidents, openings, strict=True)
        },
    )
    escalating = [i for i in incidents if i.pk not in held]
    if len(incidents) == 1:
        if escalating:
            on_incident_opened(incidents[0])
    elif escalating:
        on_incidents_opened(escalating)
    return incidents


def _truncation_entry(
    incident: Incident, truncated: int, at: datetime
) -> TimelineEntry:
    return TimelineEntry(
        incident=incident,
        at=at,
        kind=TimelineEntry.Kind.TRUNCATED,
        text=f"Alertmanager left {truncated} alert(s) out of its notification "
        "(max_alerts): the group is larger than what is shown",
    )


def incident_record_truncation(
    *, incident: Incident, truncated: int, at: datetime | None = None
) -> bool:
    """Remember how many alerts the last notification left out; True if changed."""
    if incident.truncated_alerts == truncated:
        return False
    at = at or timezone.now()
    Incident.objects.filter(pk=incident.pk).update(truncated_alerts=truncated)
    incident.truncated_alerts = truncated
    if truncated:
        _truncation_entry(incident, truncated, at).save()
    else:
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.TRUNCATED,
            text="Alertmanager's notification held the whole group again",
            at=at,
        )
    return True


def incident_reopen(
    *,
    incident: Incident,
    reason: str,
    at: datetime | None = None,
    alert_labels: tuple[dict[str, str], ...] = (),
) -> Incident:
    """A resolved incident's group fired again inside the integration's reopen
    window.  Raises ``IntegrityError`` if another incident of the group is open.
    ``alert_labels``: the labels of the alerts firing again (its burn-rate tier,
    as in ``IncidentSpec``)."""
    at = at or timezone.now()
    if incident.is_open:
        raise IncidentStateError(f"incident #{incident.pk} is already open")
    incident.status = Incident.Status.TRIGGERED
    incident.resolved_at = None
    incident.resolved_by = None
    incident.resolved_how = ""
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    # Held back by a faster burn-rate tier last time it was open, maybe: the
    # tier rule decides again below (tiers.py).
    incident.suppressed_by = None
    incident.save(
        update_fields=[
            "status",
            "resolved_at",
            "resolved_by",
            "resolved_how",
            "acknowledged_at",
            "acknowledged_by",
            "suppressed_by",
        ]
    )
    timeline_add(
        incident=incident, kind=TimelineEntry.Kind.REOPENED, text=reason, at=at
    )
    tier = group_burn_tier(incident.common_labels, alert_labels)
    if not burn_tiers_opened(incidents=[incident], at=at, tiers={incident.pk: tier}):
        on_incident_opened(incident)
    return incident


def actor_name(*, by: Member | None, by_name: str = "") -> str:
    """How the timeline names who acted: the member, else the user's name."""
    if by is not None:
        return by.display_name
    return by_name or "someone"


def timeline_note(
    *, incident: Incident, by: Member | None, who: str, note: str, at: datetime
) -> None:
    """A note given with an action (the API's ``note``), as its own entry."""
    note = note.strip()
    if note:
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.NOTE,
            text=f"{who}: {note}",
            at=at,
            actor=by,
        )


@transaction.atomic
def incident_acknowledge(
    *,
    incident: Incident,
    by: Member | None,
    via: str = "",
    at: datetime | None = None,
    by_name: str = "",
    note: str = "",
) -> Incident:
    """Somebody owns it now; acknowledging twice is a no-op, not an error.

    ``by_name`` names a person without a member profile (an admin user, an API
    token's user); ``note`` goes into the timeline with the acknowledgement."""
    at = at or timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Incident.Status.RESOLVED:
        raise IncidentStateError(f"incident #{incident.pk} is already resolved")
    if incident.status == Incident.Status.ACKNOWLEDGED:
        return incident
    incident.status = Incident.Status.ACKNOWLEDGED
    incident.acknowledged_at = at
    incident.acknowledged_by = by
    incident.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    who = actor_name(by=by, by_name=by_name)
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.ACKNOWLEDGED,
        text=f"acknowledged by {who}" + (f" via {via}" if via else ""),
        at=at,
        actor=by,
    )
    timeline_note(incident=incident, by=by, who=who, note=note, at=at)
    on_incident_acknowledged(incident)
    return incident


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    by: Member | None = None,
    how: str = "manual",
    text: str = "",
    at: datetime | None = None,
    by_name: str = "",
    note: str = "",
) -> Incident:
    """Close the incident.  ``how``: ``alerts`` (every alert resolved), ``manual``
    (a person, through the API, admin or SMS), ``heartbeat`` (the switch saw its
    heartbeat again).  Resolving twice is a no-op."""
    at = at or timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Incident.Status.RESOLVED:
        return incident
    incident.status = Incident.Status.RESOLVED
    incident.resolved_at = at
    incident.resolved_by = by
    incident.resolved_how = how
    incident.save(
        update_fields=["status", "resolved_at", "resolved_by", "resolved_how"]
    )
    if not text:
        text = (
            f"resolved by {actor_name(by=by, by_name=by_name)}"
            if by or by_name
            else f"resolved ({how})"
        )
    timeline_add(
        incident=incident, kind=TimelineEntry.Kind.RESOLVED, text=text, at=at, actor=by
    )
    timeline_note(
        incident=incident,
        by=by,
        who=actor_name(by=by, by_name=by_name),
        note=note,
        at=at,
    )
    on_incident_resolved(incident)
    return incident


def incident_end_maintenance(*, incident: Incident, at: datetime | None = None) -> None:
    """The maintenance window covering an open incident has ended."""
    at = at or timezone.now()
    updated = Incident.objects.filter(
        pk=incident.pk, in_maintenance=True, status__in=OPEN_STATUSES
    ).update(in_maintenance=False)
    if updated != 1:  # another sweep got it, or it closed meanwhile
        return
    incident.in_maintenance = False
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.MAINTENANCE,
        text="maintenance window ended while the incident is still open: "
        "escalation starts",
        at=at,
    )
    on_incident_maintenance_ended(incident)
