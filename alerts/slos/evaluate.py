"""Evaluate SLOs and store the result: what the deploy gate and the API read.

Incident-time SLIs count as bad every second during which the service had an
open incident (of the SLO's urgency); overlapping incidents count once.
Prometheus ratio SLIs count the share of bad events, ``1 - good/total`` of the
counters' increase over the window, queried at ``now`` (``prometheus.py``).  The
periodic task (``alerts.tasks.evaluate_slos``) calls :func:`slos_evaluate`; it
is idempotent in effect (each run stores a fresh evaluation of the same facts)
and prunes old evaluations: every one is kept :data:`RETENTION`, then one an
hour per SLO until :data:`HOURLY_RETENTION` (the burn-down of a ratio SLO draws
its whole window from them: ``burndown.py``).  Thinning remembers how far it got
per SLO, so hours that aged while the task could not run are thinned by the
next cycles, :data:`THIN_HOURS_PER_PASS` at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from alerts.models import OPEN_STATUSES, SLO, Incident, Service, SLOEvaluation
from alerts.slos.budget import (
    Policy,
    Window,
    budget_remaining,
    budget_seconds,
    burn_rate,
    covered_seconds,
    window_at,
)
from alerts.slos.burn import WINDOWS, burn_alerts_apply
from alerts.slos.oncall import OnCallFacts, oncall_facts
from alerts.slos.prometheus import Answer, PrometheusError, prometheus_queries

logger = logging.getLogger(__name__)

# The gate reads only the latest evaluation; a week of them is kept for people
# looking back (one a minute per SLO is 10k rows a week).
RETENTION = dt.timedelta(days=7)
# Then one an hour per SLO, for the burn-down of the longest window (a calendar
# month: 31 days) and a day to spare: ~600 more rows per SLO, not 35k.
HOURLY_RETENTION = dt.timedelta(days=32)
# Thinning catches up at most this many hours of aged evaluations per SLO and
# cycle (~60 rows each at one a minute): a cycle runs every minute, so after the
# periodic task could not run for three days it is caught up within a quarter
# of an hour, and no cycle deletes more than a few hundred rows per SLO.
THIN_HOURS_PER_PASS = 6
HOUR = dt.timedelta(hours=1)


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


def slo_evaluate(
    *,
    slo: SLO,
    now: dt.datetime | None = None,
    oncall: OnCallFacts | None = None,
    answers: Sequence[Answer] | None = None,
) -> SLOEvaluation | None:
    """Evaluate one SLO at ``now`` and store the evaluation, with who is on call
    for the service's team (``oncall``, computed when not given: a cycle computes
    it once per team).

    A Prometheus ratio SLI also opens and resolves its burn-rate incidents
    (``burn.py``).  When Prometheus fails, the last good evaluation is stored
    again marked ``stale`` with the error, and incidents are left as they are;
    with no good evaluation yet, nothing is stored (``None``).  ``answers``:
    Prometheus' answers to :func:`ratio_queries`, when the caller asked them in a
    batch (a cycle asks every SLO's at once).
    """
    now = now or timezone.now()
    if oncall is None:
        oncall = oncall_facts(team=slo.service.team, at=now)
    window = window_at(slo.window, now, slo.service.team.time_zone)
    budget = budget_seconds(slo.objective, window.length)
    if slo.source == SLO.Source.PROMETHEUS_RATIO:
        if answers is None:
            try:
                answers = prometheus_queries(ratio_queries(slo=slo, now=now))
            except PrometheusError as exc:
                return _stale(slo, now, str(exc), oncall)
        try:
            share, *shares = [_error_ratio(answer) for answer in answers]
        except PrometheusError as exc:
            return _stale(slo, now, str(exc), oncall)
        elapsed = (now - window.start).total_seconds()
        bad = share * elapsed
        burns = {
            w: burn_rate(bad_share=s, objective_percent=slo.objective)
            for w, s in zip(WINDOWS, shares, strict=True)
        }
        hour, six = dt.timedelta(hours=1), dt.timedelta(hours=6)
        evaluation = _store(
            slo, now, window, budget, bad, burns[hour], burns[six], oncall
        )
        burn_alerts_apply(slo=slo, burns=burns, now=now)
        return evaluation
    six_hours_ago = now - dt.timedelta(hours=6)
    intervals = _bad_intervals(slo, min(window.start, six_hours_ago), now)
    bad = covered_seconds(intervals, window.start, now)
    burns_1h_6h = []
    for hours in (1, 6):
        span = dt.timedelta(hours=hours)
        share = covered_seconds(intervals, now - span, now) / span.total_seconds()
        burns_1h_6h.append(burn_rate(bad_share=share, objective_percent=slo.objective))
    return _store(slo, now, window, budget, bad, burns_1h_6h[0], burns_1h_6h[1], oncall)


def _store(
    slo: SLO,
    now: dt.datetime,
    window: Window,
    budget: float,
    bad: float,
    burn_1h: float,
    burn_6h: float,
    oncall: OnCallFacts,
) -> SLOEvaluation:
    remaining = budget_remaining(budget=budget, spent=bad)
    return _keep(
        SLOEvaluation.objects.create(
            slo=slo,
            evaluated_at=now,
            window_start=window.start,
            window_end=window.start + window.length,
            budget_seconds=budget,
            bad_seconds=bad,
            budget_remaining=remaining,
            burn_1h=burn_1h,
            burn_6h=burn_6h,
            decision=policy_of(slo).decide(remaining),
            **oncall_fields(oncall),
        )
    )


def _keep(evaluation: SLOEvaluation) -> SLOEvaluation:
    """Make ``evaluation`` its SLO's ``latest_evaluation`` unless a newer one is."""
    newer = SLOEvaluation.objects.filter(
        slo_id=evaluation.slo_id, evaluated_at__gt=evaluation.evaluated_at
    )
    SLO.objects.filter(pk=evaluation.slo_id).exclude(Exists(newer)).update(
        latest_evaluation=evaluation
    )
    return evaluation


def ratio_queries(*, slo: SLO, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The PromQL a ratio SLO needs at ``now``: the share of bad events over the
    window so far, then over each burn-rate window (``burn.WINDOWS``)."""
    window = window_at(slo.window, now, slo.service.team.time_zone)
    spans = [(now - window.start).total_seconds()]
    spans += [w.total_seconds() for w in WINDOWS]
    return [(_error_query(slo, seconds), now) for seconds in spans]


def _error_query(slo: SLO, seconds: float) -> str:
    span = f"{max(int(seconds), 1)}s"
    return (
        f"1 - sum(increase({slo.good_query}[{span}]))"
        f" / sum(increase({slo.total_query}[{span}]))"
    )


def _error_ratio(answer: Answer) -> float:
    """The share of bad events from Prometheus' answer; no traffic (no series, or
    no events: 0/0) is no error."""
    if isinstance(answer, PrometheusError):
        raise answer
    return 0.0 if answer is None else min(max(answer, 0.0), 1.0)


def oncall_fields(oncall: OnCallFacts) -> dict[str, Any]:
    """The evaluation's stored on-call facts (alerts/slos/oncall.py)."""
    return {
        "oncall_primary": oncall.primary,
        "oncall_in_sleep_hours": oncall.in_sleep_hours,
        "oncall_since": oncall.since,
        "oncall_until": oncall.until,
        "oncall_version": oncall.version,
    }


def stored_oncall(evaluation: SLOEvaluation) -> OnCallFacts | None:
    if evaluation.oncall_since is None or evaluation.oncall_until is None:
        return None
    return OnCallFacts(
        primary=evaluation.oncall_primary,
        in_sleep_hours=evaluation.oncall_in_sleep_hours,
        since=evaluation.oncall_since,
        until=evaluation.oncall_until,
        version=evaluation.oncall_version or 0,
    )


def _stale(
    slo: SLO, now: dt.datetime, error: str, oncall: OnCallFacts
) -> SLOEvaluation | None:
    logger.warning("SLO %s not evaluated: %s", slo.pk, error)
    last = slo.evaluations.filter(stale=False).order_by("-evaluated_at", "-id").first()
    if last is None:
        return None
    return _keep(
        SLOEvaluation.objects.create(
            slo=slo,
            evaluated_at=now,
            window_start=last.window_start,
            window_end=last.window_end,
            budget_seconds=last.budget_seconds,
            bad_seconds=last.bad_seconds,
            budget_remaining=last.budget_remaining,
            burn_1h=last.burn_1h,
            burn_6h=last.burn_6h,
            decision=last.decision,
            stale=True,
            error=f"{error} (figures of {last.evaluated_at:%Y-%m-%d %H:%M:%S} UTC)",
            **oncall_fields(oncall),
        )
    )


def slos_evaluate(*, now: dt.datetime | None = None) -> int:
    """Evaluate every SLO; returns how many evaluations were stored."""
    now = now or timezone.now()
    stored = 0
    oncall: dict[int, OnCallFacts] = {}  # by team: resolved once per cycle
    slos = list(SLO.objects.select_related("service__team"))
    answers = _ratio_answers(slos, now)
    for slo in slos:
        try:
            team = slo.service.team
            if team.pk not in oncall:
                oncall[team.pk] = oncall_facts(team=team, at=now)
            evaluation = slo_evaluate(
                slo=slo, now=now, oncall=oncall[team.pk], answers=answers.get(slo.pk)
            )
            if evaluation is not None:
                stored += 1
        except Exception:
            # One SLO's failure (a bug, a database hiccup) must not starve the
            # others: logged, and tried again next cycle.
            logger.exception("SLO %s: evaluation failed", slo.pk)
    evaluations_prune(now=now)
    return stored


@dataclass(frozen=True)
class Pruned:
    """What one pruning pass did: evaluations ``deleted`` (past the longest
    window, or thinned), and whether thinning is still ``behind`` (more aged
    hours than one pass thins are waiting: the next cycles go on)."""

    deleted: int
    behind: bool


def evaluations_prune(*, now: dt.datetime) -> Pruned:
    """Delete evaluations past :data:`HOURLY_RETENTION`, and thin those past
    :data:`RETENTION` to one per SLO and hour (the newest id of the hour).  An
    SLO's latest evaluation is never deleted while younger than
    :data:`HOURLY_RETENTION`.

    Thinning goes forward from each SLO's ``evaluations_thinned_until`` (the
    hour it is in, which may have gained rows since) to ``now - RETENTION``, at
    most :data:`THIN_HOURS_PER_PASS` hours a pass: after an outage of the
    periodic task, the hours that aged meanwhile are thinned over the next
    cycles, a bounded piece each.  SLOs at the same point (all of them, once
    caught up) are thinned by one DELETE on the ``(slo, evaluated_at)`` index.
    """
    slos = list(SLO.objects.order_by().values_list("pk", "evaluations_thinned_until"))
    if not slos:
        return Pruned(deleted=0, behind=False)
    ids = [pk for pk, _ in slos]
    # slo_id IN (...): a range of the (slo, evaluated_at) index per SLO, not a
    # scan of every evaluation.
    deleted, _ = SLOEvaluation.objects.filter(
        slo_id__in=ids, evaluated_at__lt=now - HOURLY_RETENTION
    ).delete()
    aged_before = now - RETENTION
    oldest = _hour(now - HOURLY_RETENTION)
    never = [pk for pk, until in slos if until is None]
    first = None
    if never:  # never thinned: from their oldest aged evaluation
        first = SLOEvaluation.objects.filter(
            slo_id__in=never, evaluated_at__lt=aged_before
        ).aggregate(first=Min("evaluated_at"))["first"]
    by_start: dict[dt.datetime, list[int]] = {}
    for pk, until in slos:
        start = until if until is not None else first
        start = aged_before if start is None else max(_hour(start), oldest)
        by_start.setdefault(start, []).append(pk)
    behind = False
    latest = SLO.objects.filter(latest_evaluation__isnull=False).values(
        "latest_evaluation_id"
    )
    for start, pks in sorted(by_start.items()):
        end = min(start + THIN_HOURS_PER_PASS * HOUR, aged_before)
        behind = behind or end < aged_before
        if start < end:
            aged = SLOEvaluation.objects.filter(
                slo_id__in=pks, evaluated_at__gte=start, evaluated_at__lt=end
            )
            kept = (
                aged.order_by()
                .annotate(hour=TruncHour("evaluated_at", tzinfo=dt.UTC))
                .values("slo_id", "hour")
                .annotate(last=Max("id"))
                .values("last")
            )
            # One DELETE with its subqueries: no SLO's latest_evaluation points
            # at these rows (excluded), so Django's delete() would only load
            # each one whole to null a reference that cannot exist.
            thinned = aged.exclude(pk__in=kept).exclude(pk__in=latest)
            deleted += thinned._raw_delete(thinned.db)
        SLO.objects.filter(pk__in=pks).update(evaluations_thinned_until=end)
    return Pruned(deleted=deleted, behind=behind)


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _ratio_answers(slos: list[SLO], now: dt.datetime) -> dict[int, list[Answer]]:
    """Every ratio SLO's answers, asked of Prometheus in one concurrent batch."""
    asked: list[tuple[int, list[tuple[str, dt.datetime]]]] = []
    for slo in slos:
        if slo.source != SLO.Source.PROMETHEUS_RATIO:
            continue
        try:
            asked.append((slo.pk, ratio_queries(slo=slo, now=now)))
        except ValueError:
            # An unknown window: that SLO fails in slo_evaluate, logged there.
            continue
    flat = [query for _, queries in asked for query in queries]
    try:
        answers: list[Answer] = prometheus_queries(flat)
    except PrometheusError as exc:  # not configured: every ratio SLO goes stale
        answers = [exc] * len(flat)
    by_slo: dict[int, list[Answer]] = {}
    for pk, queries in asked:
        by_slo[pk], answers = answers[: len(queries)], answers[len(queries) :]
    return by_slo


def latest_evaluation(*, slo: SLO) -> SLOEvaluation | None:
    return slo.evaluations.order_by("-evaluated_at", "-id").first()


def _latest(field: str) -> Subquery:
    return Subquery(
        SLOEvaluation.objects.filter(slo=OuterRef("pk"))
        .order_by("-evaluated_at", "-id")
        .values(field)[:1]
    )


def slos_with_latest() -> QuerySet[SLO]:
    """Every SLO with its latest evaluation's figures as ``latest_*`` (None when
    never evaluated): one query for the API's list, the admin and /metrics."""
    return SLO.objects.select_related("service__team").annotate(
        latest_budget_remaining=_latest("budget_remaining"),
        latest_burn_1h=_latest("burn_1h"),
        latest_burn_6h=_latest("burn_6h"),
        latest_decision=_latest("decision"),
        latest_evaluated_at=_latest("evaluated_at"),
        latest_stale=_latest("stale"),
    )
