"""MTTA, MTTR, MTBF with mean, median and p90."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.insights.incident_figures import incident_figures
from alerts.insights.sql import percentile_cont
from alerts.models import Incident
from scheduling.models import Team
from tests.alerts.conftest import open_incident


def _incident(integration, alice, at, *, ack=None, resolve=None, service="api"):
    incident = open_incident(integration, at=at)
    Incident.objects.filter(pk=incident.pk).update(
        common_labels={"alertname": "HighErrorRate", "service": service}
    )
    if ack is not None:
        incident_acknowledge(incident=incident, by=alice, at=at + ack)
    if resolve is not None:
        incident.refresh_from_db()
        incident_resolve(incident=incident, by=alice, at=at + resolve)
    return incident


def test_mtta_and_mttr_with_median_and_p90(team, integration, policy, alice):
    t0 = timezone.now() - timedelta(days=2)
    minutes = [1, 2, 3, 10]
    for n, m in enumerate(minutes):
        _incident(
            integration,
            alice,
            t0 + timedelta(hours=n),
            ack=timedelta(minutes=m),
            resolve=timedelta(minutes=m * 6),
        )
    _incident(integration, alice, t0 + timedelta(hours=5))  # neither: not counted

    report = incident_figures(
        teams=Team.objects.filter(pk=team.pk),
        start=t0,
        end=t0 + timedelta(days=1),
    )
    mtta = report.overall.mtta
    assert report.overall.incidents == 5
    assert (report.overall.high, report.overall.low) == (5, 0)
    assert mtta.count == 4
    assert mtta.mean == timedelta(minutes=4)
    assert mtta.median == timedelta(minutes=2.5)
    # p90 of 1, 2, 3, 10 minutes: 3 + 0.7 * 7 = 7.9 minutes.
    assert mtta.p90 == timedelta(minutes=7.9)
    assert report.overall.mttr.median == timedelta(minutes=15)
    assert report.overall.mttr.count == 4


def test_mtbf_is_the_mean_gap_between_openings_per_service(
    team, integration, policy, alice
):
    t0 = timezone.now() - timedelta(days=3)
    for hours in (0, 2, 8):
        _incident(integration, alice, t0 + timedelta(hours=hours), service="api")
    _incident(integration, alice, t0 + timedelta(hours=1), service="db")

    report = incident_figures(
        teams=Team.objects.filter(pk=team.pk), start=t0, end=t0 + timedelta(days=1)
    )
    by_service = {s.service: s for s in report.services}
    assert by_service["api"].mtbf == timedelta(hours=4)
    assert by_service["api"].incidents == 3
    assert by_service["db"].mtbf is None

    only_db = incident_figures(
        teams=Team.objects.filter(pk=team.pk),
        start=t0,
        end=t0 + timedelta(days=1),
        service="db",
    )
    assert only_db.overall.incidents == 1


def test_percentile_cont_matches_postgresqls_definition():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([5.0], 0.9) == 5.0
    assert percentile_cont([1.0, 2.0, 3.0, 10.0], 0.5) == 2.5
    assert round(percentile_cont([1.0, 2.0, 3.0, 10.0], 0.9), 6) == 7.9


def test_the_query_count_does_not_grow_with_the_incidents(
    team, integration, policy, alice
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    t0 = timezone.now() - timedelta(days=2)
    window = {
        "teams": Team.objects.filter(pk=team.pk),
        "start": t0,
        "end": t0 + timedelta(days=1),
    }
    _incident(integration, alice, t0, ack=timedelta(minutes=1))
    with CaptureQueriesContext(connection) as few:
        incident_figures(**window)
    for n in range(1, 6):
        _incident(integration, alice, t0 + timedelta(hours=n), service=f"svc{n}")
    with CaptureQueriesContext(connection) as many:
        report = incident_figures(**window)
    assert len(many) == len(few)
    assert len(report.services) == 6
