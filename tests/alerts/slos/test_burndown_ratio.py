"""A ratio SLO's burn-down covers its whole window (30 days here), one point per
hour aggregated by the database, from evaluations kept every minute for a week
and hourly after that (alerts/slos/burndown.py, evaluate.evaluations_prune)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import SLOEvaluation
from alerts.slos.burndown import slo_burndown
from alerts.slos.evaluate import HOURLY_RETENTION, RETENTION, evaluations_prune
from tests.cast import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 31, 12, 30)


def _store(slo, at: dt.datetime, budget: float) -> SLOEvaluation:
    return SLOEvaluation(
        slo=slo,
        evaluated_at=at,
        window_start=NOW - dt.timedelta(days=30),
        window_end=NOW,
        budget_seconds=2592,
        bad_seconds=2592 * (1 - budget),
        budget_remaining=budget,
        decision="allow",
    )


def _history(slo) -> list[SLOEvaluation]:
    """Hourly evaluations from 32 days ago to a week ago (as pruning leaves
    them), then every 10 minutes for the last week, the budget falling by a
    thousandth an hour; within each recent hour a dip of 0.2 at minute 20."""
    rows = []
    at = NOW - dt.timedelta(days=32)
    while at < NOW - RETENTION:
        hours = (at - (NOW - dt.timedelta(days=32))) / dt.timedelta(hours=1)
        rows.append(_store(slo, at, 1 - hours / 1000))
        at += dt.timedelta(hours=1)
    while at <= NOW:
        hours = (at - (NOW - dt.timedelta(days=32))) / dt.timedelta(hours=1)
        dip = 0.2 if at.minute == 20 else 0.0
        rows.append(_store(slo, at, 1 - int(hours) / 1000 - dip))
        at += dt.timedelta(minutes=10)
    return SLOEvaluation.objects.bulk_create(rows)


def test_the_burn_down_of_a_30_day_window_has_a_point_per_hour(ratio):
    stored = _history(ratio)
    with CaptureQueriesContext(connection) as queries:
        burndown = slo_burndown(slo=ratio, now=NOW)
    instants = [t for t, _ in burndown.points]
    start = burndown.window.start
    assert start == NOW - dt.timedelta(days=30)
    # From the window's first hour to now: not the week the minutely rows cover.
    assert instants[0] - start < dt.timedelta(hours=1)
    assert instants[-1] == NOW
    assert len(burndown.points) == pytest.approx(30 * 24, abs=2)
    assert instants == sorted(instants)
    per_hour = {t.replace(minute=0, second=0, microsecond=0) for t in instants[:-1]}
    assert len(per_hour) == len(instants) - 1  # one point per hour, then the last
    # Within a recent hour, the lowest budget left is the point: the dip shows.
    hour = (NOW - dt.timedelta(days=2)).replace(minute=0)
    [value] = [v for t, v in burndown.points if t == hour]
    in_hour = [
        e.budget_remaining
        for e in stored
        if hour <= e.evaluated_at < hour + dt.timedelta(hours=1)
    ]
    assert value == min(in_hour) and max(in_hour) - value == pytest.approx(0.2)
    # The hourly rows were aggregated by the database, not read one by one.
    assert len(queries.captured_queries) <= 4
    assert "30 days" not in burndown.note and "hour" in burndown.note


def test_pruning_thins_to_an_hour_after_a_week_and_drops_after_the_longest_window(
    ratio, slo
):
    base = NOW - RETENTION - dt.timedelta(hours=2)  # 12:30, 2 h past the week
    SLOEvaluation.objects.bulk_create(
        [_store(ratio, base + dt.timedelta(minutes=m), 0.9) for m in range(0, 60, 5)]
        + [_store(slo, base + dt.timedelta(minutes=m), 0.9) for m in range(0, 60, 5)]
        + [_store(ratio, NOW - HOURLY_RETENTION - dt.timedelta(minutes=1), 0.5)]
        + [_store(ratio, NOW - dt.timedelta(minutes=m), 0.8) for m in range(5)]
    )
    evaluations_prune(now=NOW)
    left = SLOEvaluation.objects.filter(evaluated_at__lt=NOW - RETENTION)
    hours = sorted(
        (e.slo_id, e.evaluated_at.replace(minute=0)) for e in left.order_by("id")
    )
    # 12:30..13:25 spans two hours (12 and 13): one row each, per SLO.
    assert hours == sorted(
        (s.pk, base.replace(minute=0) + dt.timedelta(hours=h))
        for s in (ratio, slo)
        for h in (0, 1)
    )
    assert not SLOEvaluation.objects.filter(budget_remaining=0.5).exists()
    # The last week is untouched.
    assert SLOEvaluation.objects.filter(evaluated_at__gte=NOW - RETENTION).count() == 5


def test_pruning_keeps_an_slos_latest_evaluation_even_when_old(ratio):
    [old, newer] = SLOEvaluation.objects.bulk_create(
        [
            _store(ratio, NOW - RETENTION - dt.timedelta(minutes=50), 0.7),
            _store(ratio, NOW - RETENTION - dt.timedelta(minutes=40), 0.7),
        ]
    )
    # Not evaluated since (Prometheus down for a week): the gate's last word.
    type(ratio).objects.filter(pk=ratio.pk).update(latest_evaluation=old)
    evaluations_prune(now=NOW)
    assert set(SLOEvaluation.objects.values_list("pk", flat=True)) >= {old.pk}
