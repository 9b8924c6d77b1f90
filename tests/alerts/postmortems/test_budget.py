"""The error budget a postmortem's incidents consumed, with incident-time SLOs of
the payments-api service: overlapping incidents count once, only the part inside
the SLO's window counts, and linking an incident changes it."""

from __future__ import annotations

import pytest

from alerts.incidents.state import incident_resolve
from alerts.models import Incident
from alerts.postmortems.budget import postmortem_budget
from alerts.postmortems.draft import postmortem_for_incident, postmortem_link_incident
from alerts.postmortems.markdown import postmortem_markdown
from alerts.slos.setup import service_create, slo_create
from tests.alerts.conftest import open_incident
from tests.api_client import bearer_client
from tests.cast import utc

pytestmark = pytest.mark.django_db

SERVICE = {"service": "payments-api"}


def of_service(incident: Incident, labels: dict[str, str] = SERVICE) -> Incident:
    """Alertmanager would have put the service label on the alerts."""
    Incident.objects.filter(pk=incident.pk).update(
        common_labels={**incident.common_labels, **labels}
    )
    incident.refresh_from_db()
    return incident


def resolved(integration, alice, name, opened, closed, labels=SERVICE):
    incident = of_service(open_incident(integration, alertname=name, at=opened), labels)
    return incident_resolve(incident=incident, by=alice, at=closed)


@pytest.fixture
def service(team):
    api = service_create(
        slug="payments-api", name="Payments API", team=team, match_labels=SERVICE
    )
    slo_create(service=api, name="availability", objective="99.9", window="rolling_30d")
    return api


def test_budget_consumed_counts_overlapping_incidents_once(service, integration, alice):
    # 80 minutes, then a second incident overlapping it: 21:50 to 01:00 is 190.
    first = resolved(
        integration,
        alice,
        "HighErrorRate",
        utc(2026, 3, 1, 21, 50),
        utc(2026, 3, 1, 23, 10),
    )
    second = resolved(
        integration, alice, "DiskFull", utc(2026, 3, 1, 22, 30), utc(2026, 3, 2, 1, 0)
    )
    # Another service's incident is never counted against payments-api.
    resolved(
        integration,
        alice,
        "Other",
        utc(2026, 3, 1, 20),
        utc(2026, 3, 1, 21),
        labels={"service": "search"},
    )
    postmortem, _ = postmortem_for_incident(incident=first)

    [alone] = postmortem_budget(postmortem=postmortem)
    assert (alone.service, alone.slo, alone.counted_incidents) == (
        "payments-api",
        "availability",
        1,
    )
    assert alone.budget_seconds == pytest.approx(43.2 * 60)  # 0.1 % of 30 days
    assert alone.consumed_seconds == 80 * 60
    assert alone.fraction == pytest.approx(80 / 43.2)
    assert alone.window_end == utc(2026, 3, 1, 23, 10)

    postmortem_link_incident(postmortem=postmortem, incident=second)
    [both] = postmortem_budget(postmortem=postmortem)
    assert both.consumed_seconds == 190 * 60
    assert both.counted_incidents == 2

    text = postmortem_markdown(postmortem)
    assert "### Error budget consumed" in text
    assert (
        "- payments-api · availability (99.9 %, rolling 30 days): 190.0 of 43.2 "
        "minutes of error budget consumed (439.8 %)"
    ) in text

    body = bearer_client(alice.user).get(f"/api/v1/postmortems/{postmortem.pk}/").json()
    assert body["error_budget"] == [
        {
            "service": "payments-api",
            "slo": "availability",
            "objective": "99.90000",
            "window": "rolling_30d",
            "window_start": "2026-01-31T01:00:00Z",
            "window_end": "2026-03-02T01:00:00Z",
            "budget_minutes": 43.2,
            "consumed_minutes": 190.0,
            "consumed_fraction": round(190 / 43.2, 6),
            "counted_incidents": 2,
        }
    ]


def test_only_the_part_inside_a_calendar_month_counts(
    service, team, integration, alice
):
    slo_create(service=service, name="monthly", objective="99", window="calendar_month")
    # 20:00-22:00 UTC on 28 February is 23:00-01:00 in Nairobi: one hour falls
    # in March, the month the incident ended in (the team's zone).
    incident = resolved(
        integration, alice, "HighErrorRate", utc(2026, 2, 28, 20), utc(2026, 2, 28, 22)
    )
    postmortem, _ = postmortem_for_incident(incident=incident)
    by_slo = {b.slo: b for b in postmortem_budget(postmortem=postmortem)}
    monthly = by_slo["monthly"]
    assert monthly.window_start == utc(2026, 2, 28, 21)  # 1 March 00:00 Nairobi
    assert monthly.consumed_seconds == 3600
    assert monthly.budget_seconds == pytest.approx(0.01 * 31 * 86400)
    assert by_slo["availability"].consumed_seconds == 2 * 3600


def test_a_prometheus_slo_is_listed_without_a_figure(service, integration, alice):
    slo_create(
        service=service,
        name="requests",
        objective="99.5",
        source="prometheus_ratio",
        good_query='http_requests_total{code!~"5.."}',
        total_query="http_requests_total",
    )
    incident = resolved(
        integration, alice, "HighErrorRate", utc(2026, 3, 1, 21), utc(2026, 3, 1, 22)
    )
    postmortem, _ = postmortem_for_incident(incident=incident)
    by_slo = {b.slo: b for b in postmortem_budget(postmortem=postmortem)}
    assert by_slo["requests"].consumed_seconds is None
    assert by_slo["requests"].fraction is None
    assert "requests (99.5 %, rolling 30 days): a Prometheus ratio SLI" in (
        postmortem_markdown(postmortem)
    )


def test_without_an_slo_of_the_incidents_service_there_is_no_budget_section(
    integration, alice
):
    incident = resolved(
        integration, alice, "HighErrorRate", utc(2026, 3, 1, 21), utc(2026, 3, 1, 22)
    )
    postmortem, _ = postmortem_for_incident(incident=incident)
    assert postmortem_budget(postmortem=postmortem) == []
    assert "Error budget" not in postmortem_markdown(postmortem)
