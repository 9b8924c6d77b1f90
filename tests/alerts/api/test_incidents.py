"""GET/POST /api/v1/incidents/..."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.intake.integrations import route_add
from alerts.models import Incident
from tests.alerts.conftest import only_incident
from tests.api_client import token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice, team) -> APIClient:
    """Alice's client: she is a member of payments."""
    team.members.add(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(alice.user)}")
    return client


@pytest.fixture
def three_incidents(webhook, integration, other_team, alice):
    """checkout (routed to the checkout team, open), payments (open), and the
    b/c/d group (resolved).  Alice is in both teams."""
    other_team.members.add(alice)
    route_add(integration=integration, team=other_team, matchers=['service="checkout"'])
    webhook.send("f_two_groups_checkout", "f_two_groups_payments")
    webhook.send(
        "b_group_of_three_firing", "c_group_partial_resolve", "d_group_all_resolved"
    )


def test_it_needs_authentication(client):
    response = client.get("/api/v1/incidents/")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_it_lists_incidents_filtered_by_team_and_status(api, three_incidents):
    body = api.get("/api/v1/incidents/").json()
    assert len(body["results"]) == 3 and body["next"] is None
    checkout = api.get("/api/v1/incidents/?team=checkout").json()["results"]
    assert {i["team"] for i in checkout} == {"checkout"}
    assert len(checkout) == 2  # f checkout and the b group (service=checkout)
    open_ = api.get("/api/v1/incidents/?status=open").json()["results"]
    assert {i["status"] for i in open_} == {"triggered"}
    assert len(open_) == 2
    resolved = api.get("/api/v1/incidents/?status=resolved").json()["results"]
    [r] = resolved
    assert (r["alerts_total"], r["alerts_firing"]) == (3, 0)
    assert r["resolved_how"] == "alerts"


def test_since_keeps_open_and_recent_incidents(api, three_incidents):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    body = api.get("/api/v1/incidents/", {"since": future}).json()
    assert {i["status"] for i in body["results"]} == {"triggered"}  # still open
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert len(api.get("/api/v1/incidents/", {"since": past}).json()["results"]) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "on-fire"}, "status"),
        ({"since": "last tuesday"}, "since"),
        ({"team": "nobody"}, "team"),
    ],
)
def test_bad_filters_are_400_naming_the_field(api, three_incidents, query, field):
    response = api.get("/api/v1/incidents/", query)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_detail_alerts_and_timeline(api, webhook):
    webhook.send("g_max_alerts_2_of_3_truncated")
    incident = only_incident()
    detail = api.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert detail["number"] == incident.pk
    assert detail["truncated_alerts"] == 1
    assert detail["common_labels"]["alertname"] == "DiskFull"
    alerts = api.get(f"/api/v1/incidents/{incident.pk}/alerts/").json()["results"]
    # In Alertmanager's order (by label set), as they arrived.
    assert [a["labels"]["instance"] for a in alerts] == ["disk-1", "disk-2"]
    timeline = api.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()["results"]
    assert [e["kind"] for e in timeline] == [
        "opened",
        "routed",
        "truncated",
        "escalation",
    ]


def test_an_unknown_incident_is_a_json_404(api):
    response = api.get("/api/v1/incidents/999999/")
    assert response.status_code == 404
    assert response.json()["error"]


def test_ack_then_resolve(api, webhook, alice):
    webhook.send("a_single_firing")
    incident = only_incident()
    body = api.post(f"/api/v1/incidents/{incident.pk}/ack/").json()
    assert (body["status"], body["acknowledged_by"]) == ("acknowledged", "alice")
    body = api.post(f"/api/v1/incidents/{incident.pk}/resolve/").json()
    assert (body["status"], body["resolved_by"]) == ("resolved", "alice")
    response = api.post(f"/api/v1/incidents/{incident.pk}/ack/")
    assert response.status_code == 409
    assert "already resolved" in response.json()["error"]
    texts = list(Incident.objects.get().timeline.values_list("text", flat=True))
    assert "acknowledged by Alice via API" in texts
    assert "resolved by Alice via API" in texts
