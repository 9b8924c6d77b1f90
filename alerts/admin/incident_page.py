"""The incident page of the admin: what an operator reads at a glance.

Presentation only: times in the team's zone to the second (and how long ago),
who holds the incident, its pages and their delivery status.  The buttons on the
page post to ``IncidentAdmin``'s action view, which calls the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import Escalation, Incident, IncidentAlert, Page, TimelineEntry


@dataclass(frozen=True)
class Moment:
    """An instant as the team reads it: local wall time, zone, how long ago."""

    at: datetime
    local: str
    iso: str
    ago: str


def duration_text(delta: timedelta) -> str:
    """``2 h 05 min``, ``4 min 09 s``, ``12 s``: to the second when it is short."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def moment(at: datetime | None, *, incident: Incident, now: datetime) -> Moment | None:
    if at is None:
        return None
    local = at.astimezone(incident.team.tz)
    ago = now - at
    return Moment(
        at=at,
        local=local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        iso=at.isoformat(),
        ago=f"{duration_text(ago)} ago" if ago >= timedelta(0) else "in the future",
    )


def holder_text(incident: Incident, pages: list[Page]) -> str:
    """Who holds the incident now."""
    if incident.status == Incident.Status.ACKNOWLEDGED:
        who = incident.acknowledged_by
        if who:
            return f"acknowledged by {who.display_name}"
        # A user without a member profile: the timeline names them.
        entry = (
            incident.timeline.filter(kind=TimelineEntry.Kind.ACKNOWLEDGED)
            .order_by("-at", "-id")
            .first()
        )
        return entry.text if entry else "acknowledged"
    if incident.status == Incident.Status.RESOLVED:
        who = incident.resolved_by
        return f"resolved by {who.display_name}" if who else "resolved"
    paged = [page for page in pages if page.status != Page.Status.CANCELLED]
    if paged:
        return f"nobody yet: paging {paged[-1].member.display_name}"
    return "nobody yet"


def escalation_text(incident: Incident, now: datetime) -> str:
    escalation = Escalation.objects.filter(pk=incident.pk).first()
    if escalation is None:
        return "not started (opened in maintenance?)"
    text = f"{escalation.snapshot.get('name', '?')}: {escalation.state}"
    if escalation.state == Escalation.State.ACTIVE and escalation.next_action_at:
        wait = escalation.next_action_at - now
        text += f", step {escalation.next_step + 1} " + (
            f"in {duration_text(wait)}" if wait > timedelta(0) else "due now"
        )
    elif escalation.stopped_reason:
        text += f" ({escalation.stopped_reason})"
    return text


def incident_page_context(
    incident: Incident, *, now: datetime | None = None
) -> dict[str, object]:
    now = now or timezone.now()
    pages = list(
        Page.objects.filter(incident=incident)
        .select_related("member__user")
        .order_by("created_at", "id")
    )
    timeline = [
        {"entry": entry, "when": moment(entry.at, incident=incident, now=now)}
        for entry in TimelineEntry.objects.filter(incident=incident)
        .select_related("actor__user")
        .order_by("at", "id")
    ]
    alerts = list(
        IncidentAlert.objects.filter(incident=incident)
        .select_related("alert")
        .order_by("added_at", "alert_id")
    )
    return {
        "incident": incident,
        "team_zone": incident.team.time_zone,
        "opened": moment(incident.opened_at, incident=incident, now=now),
        "age": duration_text(now - incident.opened_at),
        "holder": holder_text(incident, pages),
        "escalation": escalation_text(incident, now),
        "timeline": timeline,
        "pages": [
            {
                "page": page,
                "created": moment(page.created_at, incident=incident, now=now),
                "sent": moment(page.sent_at, incident=incident, now=now),
                "delivered": moment(page.delivered_at, incident=incident, now=now),
            }
            for page in pages
        ],
        "alerts": [
            {"link": link, "added": moment(link.added_at, incident=incident, now=now)}
            for link in alerts
        ],
        # Burn-rate tiers (alerts/incidents/tiers.py): the slower tiers this
        # one holds back, or the faster one holding it back (suppressed_by).
        "suppresses": list(
            Incident.objects.filter(suppressed_by=incident)
            .order_by("pk")
            .values_list("pk", "status")
        ),
        "labels": sorted(incident.common_labels.items()),
        "annotations": sorted(incident.common_annotations.items()),
    }
