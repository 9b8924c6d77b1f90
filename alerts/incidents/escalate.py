""" "Escalate now": a person skips the wait for the next step."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts import queue
from alerts.incidents.state import IncidentStateError, actor_name, timeline_note
from alerts.models import (
    Escalation,
    Incident,
    Page,
    TimelineEntry,
)
from alerts.timeline import timeline_add
from scheduling.models import Member


def incident_escalate(
    *,
    incident: Incident,
    by: Member | None,
    via: str = "",
    at: datetime | None = None,
    by_name: str = "",
    note: str = "",
) -> Escalation:
    """ "Escalate now": the next step fires at once; this step's pending pages
    (the call after the SMS) are cancelled."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status != Incident.Status.TRIGGERED:
            raise IncidentStateError(
                f"incident #{incident.pk} is {incident.status}: only a triggered "
                "incident can be escalated"
            )
        escalation = Escalation.objects.filter(pk=incident.pk).first()
        if escalation is None or escalation.state != Escalation.State.ACTIVE:
            state = escalation.state if escalation else "not started"
            raise IncidentStateError(
                f"incident #{incident.pk} has no further escalation step ({state})"
            )
        Escalation.objects.filter(pk=incident.pk).update(
            next_action_at=at, enqueued_until=None
        )
        Page.objects.filter(incident=incident, status=Page.Status.QUEUED).update(
            status=Page.Status.CANCELLED, finished_at=at
        )
        who = actor_name(by=by, by_name=by_name)
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.ESCALATED,
            text=f"escalated by {who}" + (f" via {via}" if via else ""),
            at=at,
            actor=by,
        )
        timeline_note(incident=incident, by=by, who=who, note=note, at=at)
        queue.publish_ids_on_commit(queue.ESCALATION_ADVANCE, [incident.pk])
    escalation.refresh_from_db()
    return escalation
