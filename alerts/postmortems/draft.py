"""Drafting a postmortem from a resolved incident, in the blameless template.

One per incident, by construction: ``Postmortem.incident`` is unique, so two
clicks (or an admin action racing an API call) create one draft and the second
gets it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from alerts.models import Incident, Postmortem, TimelineEntry

IMPACT_HINT = (
    "Who and what was affected, for how long, and how badly (users, requests, money)."
)


class PostmortemError(Exception):
    """Not possible in this state (an API 409)."""


def timeline_from(incidents: Iterable[Incident]) -> list[dict]:
    """Every timeline entry of ``incidents`` (alerts fired, pages, acknowledgements,
    escalations, resolve), in order of time."""
    ids = [i.pk for i in incidents]
    entries = TimelineEntry.objects.filter(incident_id__in=ids).order_by(
        "at", "incident_id", "id"
    )
    return [
        {
            "at": e.at.isoformat(),
            "incident": e.incident_id,
            "kind": e.kind,
            "text": e.text,
        }
        for e in entries
    ]


def _span(incidents: list[Incident]) -> tuple[Any, Any]:
    start = min(i.opened_at for i in incidents)
    end = max(i.resolved_at or i.opened_at for i in incidents)
    return start, end


def postmortem_for_incident(
    *, incident: Incident, by: Any = None
) -> tuple[Postmortem, bool]:
    """The incident's postmortem (created: True when drafted now).  A
    :class:`PostmortemError` for an incident not resolved yet."""
    found = Postmortem.objects.filter(incident=incident).first()
    if found is not None:
        return found, False
    if incident.status != Incident.Status.RESOLVED:
        raise PostmortemError(
            f"incident #{incident.pk} is {incident.status}: resolve it first"
        )
    start, end = _span([incident])
    postmortem = Postmortem(
        team=incident.team,
        incident=incident,
        title=incident.title,
        severity=incident.common_labels.get("severity", "") or incident.urgency,
        started_at=start,
        ended_at=end,
        impact=IMPACT_HINT,
        timeline=timeline_from([incident]),
        created_by=by if by is not None and by.is_authenticated else None,
    )
    try:
        with transaction.atomic():
            postmortem.save()
            postmortem.incidents.add(incident)
    except IntegrityError:
        return Postmortem.objects.get(incident=incident), False
    return postmortem, True


@transaction.atomic
def postmortem_refresh(*, postmortem: Postmortem) -> None:
    """After its incidents changed: the timeline and span again from all of them."""
    linked = list(postmortem.incidents.all()) or [postmortem.incident]
    postmortem.timeline = timeline_from(linked)
    postmortem.started_at, postmortem.ended_at = _span(linked)
    postmortem.save(update_fields=["timeline", "started_at", "ended_at"])


@transaction.atomic
def postmortem_link_incident(*, postmortem: Postmortem, incident: Incident) -> None:
    """Cover one more incident (same team): its entries join the timeline, and
    the span grows to include it."""
    if incident.team_id != postmortem.team_id:
        raise PostmortemError("the incident belongs to another team")
    postmortem.incidents.add(incident)
    postmortem_refresh(postmortem=postmortem)


SECTIONS = (
    "title",
    "status",
    "severity",
    "impact",
    "root_cause",
    "went_well",
    "went_wrong",
    "lessons",
)


def postmortem_update(*, postmortem: Postmortem, **fields: Any) -> Postmortem:
    """Change the written sections (and ``status``: draft or final)."""
    unknown = set(fields) - set(SECTIONS)
    if unknown:
        raise TypeError(f"not sections of a postmortem: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(postmortem, name, value)
    postmortem.full_clean(exclude=["incident", "team", "created_by"])
    postmortem.save(update_fields=list(fields) or None)
    return postmortem
