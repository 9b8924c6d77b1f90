"""An SLO's error budget over its window: the burn-down the admin draws, and
the incidents that consumed the budget.

Incident-time SLIs are recomputed from the incidents themselves at evenly spaced
instants from the window's start to ``now`` (the same rule as the evaluator:
overlapping incidents count once), so the whole window is drawn whatever the
retention of stored evaluations.  Ratio SLIs have no history of their own here:
their curve is the stored evaluations' budget left over the whole window, one
point per hour, downsampled by the database (the lowest budget left in each
hour: a dip within the hour is not smoothed away), then the latest evaluation
itself.  Evaluations are kept every minute for ``evaluate.RETENTION`` and one an
hour for ``evaluate.HOURLY_RETENTION``, longer than any window.  Their incidents
are listed without a share (the budget is spent by bad events, not by incident
time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from alerts.models import SLO, Incident, SLOEvaluation
from alerts.slos.budget import (
    Window,
    budget_remaining,
    budget_seconds,
    covered_seconds,
    window_at,
)
from alerts.slos.evaluate import HOURLY_RETENTION, RETENTION, service_incidents


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


def _hourly(
    slo: SLO, start: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """The budget left per hour of [start, now], aggregated by the database (a
    30-day window is ~720 rows, however many evaluations it holds), then the
    latest evaluation in the window as the last point."""
    evaluations = slo.evaluations.filter(
        evaluated_at__gte=start, evaluated_at__lte=now
    ).order_by()
    hours = (
        evaluations.annotate(hour=TruncHour("evaluated_at", tzinfo=dt.UTC))
        .values("hour")
        .annotate(budget=Min("budget_remaining"))
        .order_by("hour")
        .values_list("hour", "budget")
    )
    points = [(max(hour, start), budget) for hour, budget in hours]
    last = (
        evaluations.order_by("-evaluated_at", "-id")
        .values_list("evaluated_at", "budget_remaining")
        .first()
    )
    if last is not None and (not points or points[-1][0] < last[0]):
        points.append(last)
    return points


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
        points = _hourly(slo, window.start, now)
        note = (
            "from the stored evaluations, one point per hour (the lowest budget "
            f"left in it; kept every minute for {RETENTION.days} days, hourly for "
            f"{HOURLY_RETENTION.days}; ratio SLIs are measured by Prometheus)"
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
