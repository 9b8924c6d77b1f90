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
def postmortem_link_incident(*, postmortem: Postmortem, incident: Incident) -> bool:
    """Cover one more resolved incident of the same team: its entries join the
    timeline, and the span grows to include it.  False when it was linked already
    (nothing changes).  A :class:`PostmortemError` for another team's incident or
    one not resolved yet (its duration is not known)."""
    if incident.team_id != postmortem.team_id:
        raise PostmortemError("the incident belongs to another team")
    # As stored now, not as the caller's copy says.
    incident.refresh_from_db(fields=["status", "resolved_at"])
    if incident.status != Incident.Status.RESOLVED:
        raise PostmortemError(
            f"incident #{incident.pk} is {incident.status}: resolve it first"
        )
    if postmortem.incidents.filter(pk=incident.pk).exists():
        return False
    postmortem.incidents.add(incident)
    postmortem_refresh(postmortem=postmortem)
    return True


@transaction.atomic
def postmortem_unlink_incident(*, postmortem: Postmortem, incident: Incident) -> None:
    """Stop covering ``incident``: its entries leave the timeline and the span
    shrinks to the others.

    The incident the postmortem was drafted from cannot be unlinked (a
    :class:`PostmortemError`): it is the postmortem's origin (one postmortem per
    incident is keyed on it), so a postmortem always covers at least one incident
    and never ends up with an empty timeline.  An incident that is not linked is a
    ``LookupError``."""
    if incident.pk == postmortem.incident_id:
        raise PostmortemError(
            f"incident #{incident.pk} is the one this postmortem was drafted from; "
            "it cannot be unlinked (a postmortem covers at least that incident)"
        )
    if not postmortem.incidents.filter(pk=incident.pk).exists():
        raise LookupError(f"incident #{incident.pk} is not linked to this postmortem")
    postmortem.incidents.remove(incident)
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
