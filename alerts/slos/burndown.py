"""An SLO's error budget over its window: the burn-down the admin draws, and
the incidents that consumed the budget.

Incident-time SLIs are recomputed from the incidents themselves at evenly spaced
instants from the window's start to ``now`` (the same rule as the evaluator:
overlapping incidents count once), so the whole window is drawn whatever the
retention of stored evaluations.  Ratio SLIs have no history of their own here:
their curve is the stored evaluations' budget left (kept for
``evaluate.RETENTION``), and their incidents are listed without a share (the
budget is spent by bad events, not by incident time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from alerts.models import SLO, Incident, SLOEvaluation
from alerts.slos.budget import (
    Window,
    budget_remaining,
    budget_seconds,
    covered_seconds,
    window_at,
)
from alerts.slos.evaluate import RETENTION, service_incidents


@dataclass(frozen=True)
class BudgetUse:
    incident: Incident
    seconds: float  # open time inside the window
    share: float | None  # of the whole budget; None for ratio SLIs


@dataclass(frozen=True)
class Burndown:
    slo: SLO
    window: Window
    budget_seconds: float
    points: list[tuple[dt.datetime, float]]  # (instant, budget left as a fraction)
    incidents: list[BudgetUse]
    latest: SLOEvaluation | None
    note: str


def _incidents(slo: SLO, start: dt.datetime, now: dt.datetime) -> list[Incident]:
    incidents = service_incidents(service=slo.service).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=start), opened_at__lt=now
    )
    if slo.incident_urgency == SLO.Urgency.HIGH:
        incidents = incidents.filter(urgency=Incident.Urgency.HIGH)
    return list(incidents.order_by("opened_at", "pk"))


def slo_burndown(
    *, slo: SLO, now: dt.datetime | None = None, steps: int = 60
) -> Burndown:
    """The budget left over ``slo``'s window up to ``now``, in ``steps`` points."""
    now = now or timezone.now()
    window = window_at(slo.window, now, slo.service.team.time_zone)
    budget = budget_seconds(slo.objective, window.length)
    incidents = _incidents(slo, window.start, now)
    intervals = {
        i.pk: (i.opened_at, i.resolved_at if i.resolved_at is not None else now)
        for i in incidents
    }
    incident_time = slo.source == SLO.Source.INCIDENT_TIME
    uses = []
    for incident in incidents:
        seconds = covered_seconds([intervals[incident.pk]], window.start, now)
        share = seconds / budget if incident_time and budget > 0 else None
        uses.append(BudgetUse(incident, seconds, share))
    if incident_time:
        elapsed = now - window.start
        instants = [window.start + elapsed * n / steps for n in range(steps + 1)]
        spans = list(intervals.values())
        points = [
            (
                t,
                budget_remaining(
                    budget=budget, spent=covered_seconds(spans, window.start, t)
                ),
            )
            for t in instants
        ]
        note = "recomputed from the incidents over the whole window"
    else:
        stored = list(
            slo.evaluations.filter(
                evaluated_at__gte=window.start, evaluated_at__lte=now
            )
            .order_by("evaluated_at", "id")
            .values_list("evaluated_at", "budget_remaining")
        )
        every = max(1, len(stored) // steps)
        points = stored[::every]
        if stored and points[-1] != stored[-1]:
            points.append(stored[-1])
        note = (
            "from the stored evaluations (kept "
            f"{RETENTION.days} days; ratio SLIs are measured by Prometheus)"
        )
    return Burndown(
        slo=slo,
        window=window,
        budget_seconds=budget,
        points=points,
        incidents=sorted(uses, key=lambda u: (-u.seconds, u.incident.pk)),
        latest=slo.latest_evaluation,
        note=note,
    )
