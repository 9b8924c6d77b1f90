"""Evaluate SLOs and store the result: what the deploy gate and the API read.

Incident-time SLIs count as bad every second during which the service had an
open incident (of the SLO's urgency); overlapping incidents count once.  The
periodic task (``alerts.tasks.evaluate_slos``) calls :func:`slos_evaluate`; it
is idempotent in effect (each run stores a fresh evaluation of the same facts)
and prunes evaluations past :data:`RETENTION`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.models import OPEN_STATUSES, SLO, Incident, Service, SLOEvaluation
from alerts.slos.budget import (
    Policy,
    budget_remaining,
    budget_seconds,
    burn_rate,
    covered_seconds,
    window_at,
)

logger = logging.getLogger(__name__)

# The gate reads only the latest evaluation; a week of them is kept for people
# looking back (one a minute per SLO is 10k rows a week).
RETENTION = dt.timedelta(days=7)


def service_incidents(*, service: Service) -> QuerySet[Incident]:
    """The incidents of ``service``: their common labels carry all its labels."""
    lookups = {f"common_labels__{k}": v for k, v in service.match_labels.items()}
    if not lookups:
        return Incident.objects.none()
    return Incident.objects.filter(**lookups)


def service_open_incidents(*, service: Service) -> QuerySet[Incident]:
    return service_incidents(service=service).filter(status__in=OPEN_STATUSES)


def policy_of(slo: SLO) -> Policy:
    return Policy(
        allow_above=float(slo.allow_above),
        freeze_below=float(slo.freeze_below),
        limited_deploys_per_day=slo.limited_deploys_per_day,
    )


def _bad_intervals(
    slo: SLO, start: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    incidents = service_incidents(service=slo.service).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=start), opened_at__lt=now
    )
    if slo.incident_urgency == SLO.Urgency.HIGH:
        incidents = incidents.filter(urgency=Incident.Urgency.HIGH)
    return [
        (opened, resolved if resolved is not None else now)
        for opened, resolved in incidents.values_list("opened_at", "resolved_at")
    ]


def slo_evaluate(*, slo: SLO, now: dt.datetime | None = None) -> SLOEvaluation | None:
    """Evaluate one SLO at ``now`` and store the evaluation.

    Returns ``None`` for an SLO whose source is not evaluated here (Prometheus
    ratio SLIs are not evaluated yet: nothing is stored, so the gate says "not
    evaluated" rather than showing made-up figures).
    """
    now = now or timezone.now()
    if slo.source != SLO.Source.INCIDENT_TIME:
        logger.info("SLO %s: %s SLIs are not evaluated yet", slo.pk, slo.source)
        return None
    window = window_at(slo.window, now, slo.service.team.time_zone)
    six_hours_ago = now - dt.timedelta(hours=6)
    intervals = _bad_intervals(slo, min(window.start, six_hours_ago), now)
    bad = covered_seconds(intervals, window.start, now)
    budget = budget_seconds(slo.objective, window.length)
    remaining = budget_remaining(budget=budget, spent=bad)
    burns = {}
    for hours in (1, 6):
        span = dt.timedelta(hours=hours)
        share = covered_seconds(intervals, now - span, now) / span.total_seconds()
        burns[hours] = burn_rate(bad_share=share, objective_percent=slo.objective)
    return SLOEvaluation.objects.create(
        slo=slo,
        evaluated_at=now,
        window_start=window.start,
        window_end=window.start + window.length,
        budget_seconds=budget,
        bad_seconds=bad,
        budget_remaining=remaining,
        burn_1h=burns[1],
        burn_6h=burns[6],
        decision=policy_of(slo).decide(remaining),
    )


def slos_evaluate(*, now: dt.datetime | None = None) -> int:
    """Evaluate every SLO; returns how many evaluations were stored."""
    now = now or timezone.now()
    stored = 0
    for slo in SLO.objects.select_related("service__team"):
        if slo_evaluate(slo=slo, now=now) is not None:
            stored += 1
    SLOEvaluation.objects.filter(evaluated_at__lt=now - RETENTION).delete()
    return stored


def latest_evaluation(*, slo: SLO) -> SLOEvaluation | None:
    return slo.evaluations.order_by("-evaluated_at", "-id").first()
