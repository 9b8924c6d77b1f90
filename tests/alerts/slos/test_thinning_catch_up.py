"""Thinning catches up after the periodic evaluation could not run for days
(alerts/slos/evaluate.py, ``evaluations_prune``): the hours that aged past
RETENTION meanwhile are thinned to one evaluation per SLO and hour by the next
cycles, a bounded number of hours each, and an SLO's latest evaluation stays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import SLO, SLOEvaluation
from alerts.slos.evaluate import (
    HOURLY_RETENTION,
    RETENTION,
    THIN_HOURS_PER_PASS,
    evaluations_prune,
)
from tests.cast import utc

pytestmark = pytest.mark.django_db

OUTAGE_START = utc(2026, 3, 20, 12, 7)
OUTAGE_END = OUTAGE_START + dt.timedelta(days=3)
STEP = dt.timedelta(minutes=5)  # one evaluation per SLO every 5 minutes
MINUTE = dt.timedelta(minutes=1)


def _row(slo: SLO, at: dt.datetime) -> SLOEvaluation:
    return SLOEvaluation(
        slo=slo,
        evaluated_at=at,
        window_start=at - dt.timedelta(days=30),
        window_end=at,
        budget_seconds=2592,
        bad_seconds=0,
        budget_remaining=1.0,
        decision="allow",
    )


def _evaluate(slos: list[SLO], at: dt.datetime) -> None:
    """What a cycle stores: one evaluation per SLO, made the SLO's latest."""
    for row in SLOEvaluation.objects.bulk_create([_row(s, at) for s in slos]):
        SLO.objects.filter(pk=row.slo_id).update(latest_evaluation=row)


def _hour(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _rows_per_hour(before: dt.datetime) -> dict[tuple[int, dt.datetime], int]:
    counts: dict[tuple[int, dt.datetime], int] = {}
    for slo_id, at in SLOEvaluation.objects.filter(evaluated_at__lt=before).values_list(
        "slo_id", "evaluated_at"
    ):
        key = (slo_id, _hour(at))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _drive(slos: list[SLO], start: dt.datetime, *, limit: int = 200) -> list:
    """Run cycles a minute apart from ``start``, each storing an evaluation of
    ``slos`` and pruning, until one finds thinning caught up; returns each
    cycle's result with its query count and time."""
    cycles = []
    at = start
    for _ in range(limit):
        _evaluate(slos, at)
        with CaptureQueriesContext(connection) as queries:
            pruned = evaluations_prune(now=at)
        cycles.append((pruned, len(queries.captured_queries), at))
        if not pruned.behind:
            return cycles
        at += MINUTE
    raise AssertionError(f"thinning still behind after {limit} cycles")


def test_thinning_catches_up_after_three_days_without_cycles(ratio, slo):
    # Evaluated every 5 minutes for eight days, thinned as it went, until the
    # periodic task stopped for three days (beat down, say).
    history = []
    at = OUTAGE_START - dt.timedelta(days=8)
    while at < OUTAGE_START:
        history += [_row(ratio, at), _row(slo, at)]
        at += STEP
    SLOEvaluation.objects.bulk_create(history)
    _drive([ratio, slo], OUTAGE_START)
    caught_up_at = SLO.objects.get(pk=ratio.pk).evaluations_thinned_until
    assert caught_up_at is not None and caught_up_at > OUTAGE_START - RETENTION
    before = _rows_per_hour(OUTAGE_START - RETENTION)
    assert before and set(before.values()) == {1}

    # During the outage: the incident-time SLO's latest evaluation becomes one
    # in the middle of an hour that ages during the outage (its later
    # evaluations failed, say): the gate's last word, never thinned away.
    middle = _hour(OUTAGE_START - RETENTION + dt.timedelta(days=1))
    middle += dt.timedelta(minutes=22)  # rows at :07, :12, ... :57
    last_word = SLOEvaluation.objects.get(slo=slo, evaluated_at=middle)
    SLO.objects.filter(pk=slo.pk).update(latest_evaluation=last_word)
    untouched = {
        (e.slo_id, e.evaluated_at)
        for e in SLOEvaluation.objects.filter(evaluated_at__gte=OUTAGE_END - RETENTION)
    }
    stored = list(SLOEvaluation.objects.values_list("slo_id", "evaluated_at"))

    # The task runs again, once a minute; only the ratio SLO is evaluated.
    cycles = _drive([ratio], OUTAGE_END)
    end = cycles[-1][2]

    # Bounded work: the first cycle thinned at most THIN_HOURS_PER_PASS hours
    # of the three days, so several cycles were needed, each with the same
    # number of statements however large the backlog.
    backlog_hours = (OUTAGE_END - OUTAGE_START) / dt.timedelta(hours=1)
    assert len(cycles) >= backlog_hours // THIN_HOURS_PER_PASS
    assert all(pruned.behind for pruned, _, _ in cycles[:-1])
    assert cycles[0][0].deleted <= THIN_HOURS_PER_PASS * 12 * 2
    assert len({count for _, count, _ in cycles}) == 1, [
        (c[1], c[0]) for c in cycles[-4:]
    ]

    # Caught up: one evaluation per SLO and hour past RETENTION, the newest of
    # the hour, plus the incident-time SLO's latest one.
    left = {
        (e.slo_id, e.evaluated_at)
        for e in SLOEvaluation.objects.filter(evaluated_at__lt=end - RETENTION)
    }
    # The newest evaluation of each SLO-hour aged by then, as thinning must
    # leave it.
    newest: dict[tuple[int, dt.datetime], dt.datetime] = {}
    for slo_id, at in stored:
        if at < end - RETENTION:
            key = (slo_id, _hour(at))
            newest[key] = max(newest.get(key, at), at)
    expected = {(slo_id, at) for (slo_id, _), at in newest.items()}
    expected |= {(slo.pk, middle)}
    assert left == expected
    per_hour = _rows_per_hour(end - RETENTION)
    assert {k: n for k, n in per_hour.items() if n > 1} == {(slo.pk, _hour(middle)): 2}
    # The last week before ``end`` is not touched.
    recent = {
        (e.slo_id, e.evaluated_at)
        for e in SLOEvaluation.objects.filter(evaluated_at__gte=end - RETENTION)
    }
    assert {key for key in untouched if key[1] >= end - RETENTION} <= recent
    # The latest evaluations are all there.
    for s in SLO.objects.all():
        assert SLOEvaluation.objects.filter(pk=s.latest_evaluation_id).exists()

    # Idle: another cycle deletes nothing new of the thinned hours.
    again = evaluations_prune(now=end)
    assert (again.deleted, again.behind) == (0, False)
    assert not SLOEvaluation.objects.filter(
        evaluated_at__lt=end - HOURLY_RETENTION
    ).exists()
