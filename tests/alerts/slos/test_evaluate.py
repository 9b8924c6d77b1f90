"""Evaluating incident-time SLOs and storing the result (alerts/slos/evaluate.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.models import SLOEvaluation
from alerts.slos.evaluate import HOURLY_RETENTION, slo_evaluate, slos_evaluate
from alerts.slos.setup import slo_create
from alerts.tasks import evaluate_slos
from tests.alerts.slos.conftest import service_incident
from tests.cast import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 20, 12)


def test_an_untouched_budget_is_whole(slo):
    evaluation = slo_evaluate(slo=slo, now=NOW)
    assert evaluation.budget_seconds == pytest.approx(2592)
    assert (evaluation.bad_seconds, evaluation.budget_remaining) == (0, 1.0)
    assert (evaluation.burn_1h, evaluation.burn_6h, evaluation.decision) == (
        0,
        0,
        "allow",
    )


def test_overlapping_incidents_of_the_service_count_once(slo, integration, published):
    # 10:00-10:20 and 10:10-10:30 overlap: 30 minutes of bad time, not 40.
    service_incident(integration, utc(2026, 3, 19, 10), utc(2026, 3, 19, 10, 20))
    service_incident(integration, utc(2026, 3, 19, 10, 10), utc(2026, 3, 19, 10, 30))
    evaluation = slo_evaluate(slo=slo, now=NOW)
    assert evaluation.bad_seconds == 30 * 60
    assert evaluation.budget_remaining == pytest.approx(1 - 30 / 43.2)
    assert evaluation.decision == "limited"


def test_only_the_services_high_urgency_incidents_count(slo, integration, published):
    opened, resolved = utc(2026, 3, 19, 10), utc(2026, 3, 19, 11)
    service_incident(integration, opened, resolved, service="checkout")
    service_incident(integration, opened, resolved, urgency="low")
    assert slo_evaluate(slo=slo, now=NOW).bad_seconds == 0
    slo.incident_urgency = "any"
    slo.save()
    assert slo_evaluate(slo=slo, now=NOW).bad_seconds == 3600


def test_time_outside_the_window_does_not_count(slo, integration, published):
    # Opened 30 days and 10 minutes ago, resolved 20 minutes later: 10 in window.
    opened = NOW - dt.timedelta(days=30, minutes=10)
    service_incident(integration, opened, opened + dt.timedelta(minutes=20))
    assert slo_evaluate(slo=slo, now=NOW).bad_seconds == 10 * 60


def test_an_open_incident_burns_until_now_and_sets_the_burn_rates(
    slo, integration, published
):
    service_incident(integration, NOW - dt.timedelta(minutes=30))
    evaluation = slo_evaluate(slo=slo, now=NOW)
    assert evaluation.bad_seconds == 30 * 60
    # Half the last hour was bad: 0.5 / 0.001 = 500× the sustainable rate.
    assert evaluation.burn_1h == pytest.approx(500)
    assert evaluation.burn_6h == pytest.approx(500 / 6)


def test_overspent_freezes(slo, integration, published):
    service_incident(integration, utc(2026, 3, 18, 1), utc(2026, 3, 18, 2))
    evaluation = slo_evaluate(slo=slo, now=NOW)
    assert evaluation.budget_remaining == pytest.approx(1 - 60 / 43.2)
    assert evaluation.decision == "freeze"


def test_the_policy_is_the_slos_own(service, integration, published):
    strict = slo_create(
        service=service,
        name="strict",
        objective="99.9",
        allow_above="0.9",
        freeze_below="0.8",
    )
    service_incident(integration, utc(2026, 3, 19, 10), utc(2026, 3, 19, 10, 5))
    assert slo_evaluate(slo=strict, now=NOW).decision == "limited"  # 88 % left


def test_a_ratio_slo_without_prometheus_configured_stores_nothing(service):
    ratio = slo_create(
        service=service,
        name="ratio",
        objective="99.5",
        source="prometheus_ratio",
        good_query='http_requests_total{code!~"5.."}',
        total_query="http_requests_total",
    )
    assert slo_evaluate(slo=ratio, now=NOW) is None
    assert not SLOEvaluation.objects.exists()


def test_the_periodic_task_evaluates_every_slo_and_prunes_old_ones(slo, service):
    other = slo_create(
        service=service, name="monthly", objective="99.99", window="calendar_month"
    )
    old = slo_evaluate(slo=slo, now=NOW - HOURLY_RETENTION - dt.timedelta(minutes=1))
    assert slos_evaluate(now=NOW) == 2
    assert not SLOEvaluation.objects.filter(pk=old.pk).exists()
    assert set(SLOEvaluation.objects.values_list("slo", flat=True)) == {
        slo.pk,
        other.pk,
    }
    assert evaluate_slos() == 2  # the task is the same service, at the wall clock
