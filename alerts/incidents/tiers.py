"""Burn-rate tiers of one SLO: a slower tier waits while a faster one is open.

Sloth and Pyrra send each SLO's multi-window burn-rate alerts in tiers (page and
ticket; ``alerts.routing.burn_tier`` reads their labels).  An incident's tier is
that of its **firing** alerts: the fastest of them, when all of them are tiers
of one SLO (``alerts.routing.group_burn_tier``), so it does not matter whether
Alertmanager sends each tier in a group of its own or several in one group
(``group_by: [alertname]`` puts Sloth's page and ticket alerts together).
Paging for a slower tier while a faster one is open wakes nobody new and only
adds noise.  So, among the open incidents of one team carrying tiers of one SLO:

* an incident whose tier is slower than another's is recorded, with its
  alerts, but not escalated: ``suppressed_by`` points at the faster one, and the
  timeline says so.  One that opens held back never starts escalating; one
  already open stops (its pages not yet sent are cancelled);
* an incident that no faster tier holds back any more escalates on its own
  again: when the faster one resolves, or when its own faster alert resolved
  while slower ones of its group keep firing (its tier is then the slower
  one), or when a faster alert joined the held-back group.

The tier follows the firing alerts while the incident is open, but its urgency
is the one it opened with: people already paged at high urgency are not told
later that it was low.  Each change applies the rule to the SLO's open
incidents again (:func:`_apply`), from what the database holds, so the outcome
does not depend on the order things arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from alerts.escalation.engine import escalation_start, escalation_stop
from alerts.models import OPEN_STATUSES, Alert, Incident, IncidentAlert, TimelineEntry
from alerts.routing import BurnTier, burn_tier, group_burn_tier
from alerts.timeline import timeline_add

Slo = tuple[tuple[str, str], ...]

# Labels that a tier's SLO is named by (``BurnTier.slo``): an incident whose
# common labels have none of them carries no tier, and costs no query here.
_SLO_LABELS = ("sloth_slo", "slo")


def may_carry_tiers(incident: Incident) -> bool:
    """Whether ``incident`` can be a burn-rate tier at all (no query)."""
    labels = incident.common_labels
    return any(k in labels for k in _SLO_LABELS)


def _tiers_from_alerts(incidents: Iterable[Incident]) -> dict[int, BurnTier | None]:
    """Each incident's tier from its firing alerts, in one query; an incident
    without alerts (opened by oncall itself) by its common labels."""
    incidents = list(incidents)
    if not incidents:
        return {}
    firing: dict[int, list[dict[str, str]]] = {}
    for incident_id, labels in IncidentAlert.objects.filter(
        incident_id__in=[i.pk for i in incidents], status=Alert.Status.FIRING
    ).values_list("incident_id", "alert__labels"):
        firing.setdefault(incident_id, []).append(labels)
    return {
        i.pk: group_burn_tier(i.common_labels, firing.get(i.pk, ())) for i in incidents
    }


def _apply(
    *,
    team_id: int,
    slo: Slo,
    at: datetime,
    known: dict[int, BurnTier | None],
    opened: Iterable[int] = (),
) -> set[int]:
    """Apply the tier rule to the open incidents of ``team_id`` carrying tiers of
    ``slo``; ``known``: tiers already known (incidents whose alert links are not
    written yet); ``opened``: incidents just opened, whose escalation has not
    started.  Returns those of ``opened`` held back."""
    opened = set(opened)
    lookups = {f"common_labels__{k}": v for k, v in slo}
    candidates = list(
        Incident.objects.filter(
            status__in=OPEN_STATUSES, team_id=team_id, **lookups
        ).order_by("pk")
    )
    tiers = dict(known)
    tiers.update(_tiers_from_alerts(i for i in candidates if i.pk not in known))
    members = {
        i.pk: (i, tier)
        for i in candidates
        if (tier := tiers.get(i.pk)) is not None and tier.slo == slo
    }
    held: set[int] = set()
    for incident, tier in members.values():
        faster = [
            (t.speed, o.pk, o) for o, t in members.values() if t.speed < tier.speed
        ]
        holder = members.get(incident.suppressed_by_id or 0)
        if not faster:
            if incident.suppressed_by_id is not None:
                text = _released_text(incident.suppressed_by_id, holder, candidates)
                _release(incident, at=at, text=text)
            continue
        if incident.pk in opened:
            held.add(incident.pk)
        if holder is not None and holder[1].speed < tier.speed:
            continue  # still held back by the same faster tier
        escalating = incident.suppressed_by_id is None and incident.pk not in opened
        by = min(faster, key=lambda f: f[:2])[2]
        _suppress(incident, tier, by=by, at=at)
        if escalating:
            escalation_stop(incident=incident, reason=f"suppressed by #{by.pk}", at=at)
    for incident in candidates:
        if (
            incident.pk not in members
            and tiers.get(incident.pk) is None
            and incident.suppressed_by_id is not None
        ):
            _release(incident, at=at, text=_NOT_A_TIER)
    return held


_NOT_A_TIER = (
    "its firing alerts are no longer only burn-rate tiers of one SLO: this "
    "incident escalates on its own now"
)


def _released_text(
    holder_id: int,
    holder: tuple[Incident, BurnTier] | None,
    candidates: list[Incident],
) -> str:
    """Why an incident held back by ``holder_id`` is not any more."""
    if holder is not None:
        return (
            f"the faster tier, incident #{holder_id}, now fires only the "
            f"{holder[1].describe()}, not faster than this one: this incident "
            "escalates on its own now"
        )
    if any(c.pk == holder_id for c in candidates):
        return (
            f"incident #{holder_id} no longer fires a faster tier of the SLO: "
            "this incident escalates on its own now"
        )
    return (
        f"the faster tier, incident #{holder_id}, resolved: this incident "
        "escalates on its own now"
    )


def _suppress(
    incident: Incident, tier: BurnTier, *, by: Incident, at: datetime
) -> None:
    Incident.objects.filter(pk=incident.pk).update(suppressed_by=by)
    incident.suppressed_by = by
    timeline_add(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        text=f"{tier.describe()}: not escalated while the faster tier, incident "
        f"#{by.pk}, is open",
        at=at,
    )


def _release(incident: Incident, *, at: datetime, text: str) -> None:
    Incident.objects.filter(pk=incident.pk).update(suppressed_by=None)
    incident.suppressed_by = None
    timeline_add(incident=incident, kind=TimelineEntry.Kind.NOTE, text=text, at=at)
    if incident.status == Incident.Status.TRIGGERED and not incident.in_maintenance:
        escalation_start(incident=incident, at=at)


def burn_tiers_opened(
    *,
    incidents: list[Incident],
    at: datetime,
    tiers: dict[int, BurnTier | None] | None = None,
) -> set[int]:
    """Apply the tier rule to incidents just opened (or reopened), whose
    escalation has not started; returns the ids of those that must not escalate.

    ``tiers``: each one's tier, from the alerts firing when it opened (their
    links are written after this); by default from its common labels."""
    if tiers is None:
        tiers = {i.pk: burn_tier(i.common_labels) for i in incidents}
    by_slo: dict[tuple[int, Slo], set[int]] = {}
    for incident in incidents:
        tier = tiers.get(incident.pk)
        if tier is not None:
            by_slo.setdefault((incident.team_id, tier.slo), set()).add(incident.pk)
    held: set[int] = set()
    for (team_id, slo), opened in by_slo.items():
        held |= _apply(team_id=team_id, slo=slo, at=at, known=tiers, opened=opened)
    return held


def burn_tiers_changed(*, incidents: list[Incident], at: datetime) -> None:
    """The firing alerts of these open incidents changed (one resolved while
    others fire, one joined, one fired again): their tiers may have, so the
    rule is applied again to their SLOs and to those of what they hold back.
    No query for incidents that cannot carry tiers."""
    _apply_around([i for i in incidents if may_carry_tiers(i)], at=at)


def burn_tiers_resolved(*, incident: Incident, at: datetime) -> None:
    """``incident`` resolved: what it held back escalates again, or waits for
    another faster tier still open."""
    _apply_around([incident], at=at)


def _apply_around(incidents: list[Incident], *, at: datetime) -> None:
    if not incidents:
        return
    ids = [i.pk for i in incidents]
    # These as the database has them now (a batch may have changed them since
    # it read them), and the open incidents they hold back.
    rows = list(
        Incident.objects.filter(
            Q(pk__in=ids) | Q(suppressed_by__in=ids), status__in=OPEN_STATUSES
        ).order_by("pk")
    )
    tiers = _tiers_from_alerts(rows)
    slos: dict[tuple[int, Slo], None] = {}
    for incident in rows:
        tier = tiers.get(incident.pk)
        if tier is not None:
            slos[(incident.team_id, tier.slo)] = None
        elif incident.suppressed_by_id is not None:
            _release(incident, at=at, text=_NOT_A_TIER)
    for team_id, slo in slos:
        _apply(team_id=team_id, slo=slo, at=at, known=tiers)
