"""Burn-rate tiers of one SLO: a slower tier waits while a faster one is open.

Sloth and Pyrra send each SLO's multi-window burn-rate alerts in tiers (page and
ticket; ``alerts.routing.burn_tier`` reads their labels).  When they arrive in
different Alertmanager groups they open different incidents; paging for the
ticket while the page is open wakes nobody new and only adds noise.  So:

* an incident of a slower tier that opens while a faster tier of the same SLO
  (same team) is open is recorded, with its alerts, but not escalated:
  ``suppressed_by`` points at the faster one, and the timeline says so;
* a faster tier that opens suppresses the slower ones already open (their chain
  stops, pages not yet sent are cancelled);
* when the faster incident resolves, what it suppressed escalates on its own
  again (unless another faster tier is still open).
"""

from __future__ import annotations

from datetime import datetime

from alerts.escalation.engine import escalation_start, escalation_stop
from alerts.models import OPEN_STATUSES, Incident, TimelineEntry
from alerts.routing import BurnTier, burn_tier
from alerts.timeline import timeline_add


def _open_tiers(incident: Incident, tier: BurnTier) -> list[tuple[Incident, BurnTier]]:
    """The other open incidents of the same team carrying tiers of the same SLO."""
    lookups = {f"common_labels__{k}": v for k, v in tier.slo}
    others = (
        Incident.objects.filter(
            status__in=OPEN_STATUSES, team_id=incident.team_id, **lookups
        )
        .exclude(pk=incident.pk)
        .order_by("pk")
    )
    found = []
    for other in others:
        other_tier = burn_tier(other.common_labels)
        if other_tier is not None and other_tier.slo == tier.slo:
            found.append((other, other_tier))
    return found


def _fastest_faster(incident: Incident, tier: BurnTier) -> Incident | None:
    faster = [(t.speed, o.pk, o) for o, t in _open_tiers(incident, tier)]
    faster = [f for f in faster if f[0] < tier.speed]
    return min(faster, key=lambda f: f[:2])[2] if faster else None


def burn_tiers_opened(*, incidents: list[Incident], at: datetime) -> set[int]:
    """Apply the tier rule to incidents just opened (or reopened); returns the
    ids of those that must not escalate."""
    held: set[int] = set()
    for incident in incidents:
        tier = burn_tier(incident.common_labels)
        if tier is None:
            continue
        faster = _fastest_faster(incident, tier)
        if faster is not None:
            _suppress(incident, tier, by=faster, at=at)
            held.add(incident.pk)
            continue
        for other, other_tier in _open_tiers(incident, tier):
            if other_tier.speed > tier.speed and other.suppressed_by_id is None:
                _suppress(other, other_tier, by=incident, at=at)
                escalation_stop(
                    incident=other, reason=f"suppressed by #{incident.pk}", at=at
                )
    return held


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


def burn_tiers_resolved(*, incident: Incident, at: datetime) -> None:
    """``incident`` resolved: what it suppressed escalates again, or waits for
    another faster tier still open."""
    for held in Incident.objects.filter(
        suppressed_by=incident, status__in=OPEN_STATUSES
    ):
        tier = burn_tier(held.common_labels)
        faster = _fastest_faster(held, tier) if tier is not None else None
        if faster is not None and tier is not None:
            _suppress(held, tier, by=faster, at=at)
            continue
        Incident.objects.filter(pk=held.pk).update(suppressed_by=None)
        held.suppressed_by = None
        timeline_add(
            incident=held,
            kind=TimelineEntry.Kind.NOTE,
            text=f"the faster tier, incident #{incident.pk}, resolved: this "
            "incident escalates on its own now",
            at=at,
        )
        if held.status == Incident.Status.TRIGGERED and not held.in_maintenance:
            escalation_start(incident=held, at=at)
