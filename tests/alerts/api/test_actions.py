"""POST /api/v1/incidents/<id>/ack/ · resolve/ · escalate/, and the pages list."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.alerts.conftest import drive, open_incident, sent
from tests.api_client import token_for
from tests.cast import PHONES


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(alice.user)}")
    return client


@pytest.fixture
def incident(integration, policy, alice, bob, phones):
    incident = open_incident(integration)
    drive()
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    return incident


def test_escalate_pages_the_next_step_now(api, incident):
    response = api.post(f"/api/v1/incidents/{incident.pk}/escalate/")
    assert response.status_code == 200, response.content
    assert response.json()["escalation"]["next_step"] == 2
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]
    assert incident.timeline.filter(text="escalated by Alice via API").exists()


def test_ack_over_the_api_stops_paging_and_reports_time_to_ack(api, incident):
    response = api.post(f"/api/v1/incidents/{incident.pk}/ack/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["time_to_acknowledge"] >= 0
    assert body["time_to_resolve"] is None
    assert body["escalation"]["state"] == "stopped"


def test_escalating_a_resolved_incident_is_a_409_with_a_reason(api, incident):
    assert api.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
    response = api.post(f"/api/v1/incidents/{incident.pk}/escalate/")
    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]


@pytest.mark.parametrize("action", ["ack", "resolve", "escalate"])
def test_an_unknown_incident_is_a_json_404(api, db, action):
    response = api.post(f"/api/v1/incidents/999999/{action}/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_the_pages_of_an_incident(api, incident):
    response = api.get(f"/api/v1/incidents/{incident.pk}/pages/")
    assert response.status_code == 200
    [page] = response.json()["results"]
    assert (page["member"], page["channel"], page["status"]) == ("alice", "sms", "sent")
