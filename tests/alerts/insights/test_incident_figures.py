"""MTTA, MTTR, MTBF with mean, median and p90."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.insights.incident_figures import incident_figures
from alerts.insights.sql import percentile_cont
from alerts.models import Incident, TimelineEntry
from scheduling.models import Team
from tests.alerts.conftest import drive, open_incident, sent


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


def test_mtbf_has_a_mean_median_and_p90_over_the_gaps_per_service(
    team, integration, policy, alice
):
    t0 = timezone.now() - timedelta(days=3)
    # api: gaps of 1, 2, 3 and 10 hours.
    for hours in (0, 1, 3, 6, 16):
        _incident(integration, alice, t0 + timedelta(hours=hours), service="api")
    _incident(integration, alice, t0 + timedelta(hours=1), service="db")

    report = incident_figures(
        teams=Team.objects.filter(pk=team.pk), start=t0, end=t0 + timedelta(days=1)
    )
    by_service = {s.service: s for s in report.services}
    api = by_service["api"].mtbf
    assert api.count == 4
    assert api.mean == timedelta(hours=4)
    assert _close(api.median, timedelta(hours=2.5))
    assert _close(api.p90, timedelta(hours=7.9))  # 3 + 0.7 * 7 hours
    assert by_service["api"].incidents == 5
    db = by_service["db"].mtbf
    assert (db.count, db.mean, db.median, db.p90) == (0, None, None, None)

    only_db = incident_figures(
        teams=Team.objects.filter(pk=team.pk),
        start=t0,
        end=t0 + timedelta(days=1),
        service="db",
    )
    assert only_db.overall.incidents == 1


def _close(value, expected):
    """SQLite reads instants as julian days (about 0.1 ms apart)."""
    return abs(value - expected) < timedelta(milliseconds=1)


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


FIRE, RESOLVE = "k_root_route_firing", "k_resolved_without_annotations"


def test_a_reopened_incidents_mtta_and_mttr_count_from_the_reopening(
    team, integration, webhook, policy, alice
):
    """Fire → resolve → fire again within the reopen window → acknowledge →
    resolve, through intake: the acknowledgement answered the reopening, so
    MTTA (and MTTR) count from it, not from the first opening."""
    integration.routes.update(urgency="high")
    integration.reopen_window = 600
    integration.save()
    assert webhook.send(FIRE)[0].startswith("opened incident")
    drive()
    results = webhook.send(RESOLVE, FIRE)
    assert "resolved it" in results[0]
    assert results[1].startswith("reopened incident")
    drive()
    sent()
    incident = Incident.objects.get()
    reopened = incident.timeline.get(kind=TimelineEntry.Kind.REOPENED).at
    assert incident.opened_at < reopened
    acked_at = reopened + timedelta(minutes=4)
    incident_acknowledge(incident=incident, by=alice, at=acked_at)
    incident.refresh_from_db()
    incident_resolve(incident=incident, by=alice, at=acked_at + timedelta(minutes=6))

    now = timezone.now()
    report = incident_figures(
        teams=Team.objects.filter(pk=team.pk),
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
    )
    assert report.overall.incidents == 1  # a reopened incident is one incident
    assert report.overall.mtta.mean == timedelta(minutes=4)
    assert report.overall.mtta.median == timedelta(minutes=4)
    assert report.overall.mttr.mean == timedelta(minutes=10)
    # Its services row: one opening, so no MTBF (a reopen is no new failure).
    [service] = report.services
    assert service.mtbf.count == 0


def test_an_incident_never_reopened_counts_from_its_opening(
    team, integration, policy, alice
):
    t0 = timezone.now() - timedelta(days=1)
    _incident(integration, alice, t0, ack=timedelta(minutes=3))
    report = incident_figures(
        teams=Team.objects.filter(pk=team.pk), start=t0, end=t0 + timedelta(hours=1)
    )
    assert report.overall.mtta.mean == timedelta(minutes=3)
