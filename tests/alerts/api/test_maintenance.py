"""/api/v1/maintenance-windows/: a team's or an integration's window; naive
times refused; PUT idempotent; through alerts.incidents.maintenance."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import MaintenanceWindow
from alerts.selectors import maintenance_active
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

BODY = {
    "team": "payments",
    "starts_at": "2026-03-01T22:00:00+03:00",
    "ends_at": "2026-03-02T02:00:00+03:00",
    "reason": "database upgrade",
}


def test_a_window_is_created_in_utc_with_its_author(staff_api, team):
    response = staff_api.post("/api/v1/maintenance-windows/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_at"] == "2026-03-01T19:00:00Z"
    assert (body["team"], body["integration"], body["created_by"]) == (
        "payments",
        None,
        "ops",
    )


def test_an_active_window_holds_the_teams_incidents(staff_api, team, integration):
    now = timezone.now()
    body = {
        **BODY,
        "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
    }
    staff_api.post("/api/v1/maintenance-windows/", body, format="json")
    assert maintenance_active(integration_id=integration.pk, team_id=team.pk, at=now)
    listed = staff_api.get("/api/v1/maintenance-windows/?active=true").json()
    assert [w["active"] for w in listed["results"]] == [True]
    assert (
        staff_api.get("/api/v1/maintenance-windows/?active=false").json()["results"]
        == []
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"starts_at": "2026-03-01T22:00:00"}, "starts_at", "no UTC offset"),
        ({"ends_at": "2026-03-01T21:00:00+03:00"}, "non_field_errors", "end after"),
        ({"integration": "payments-prod"}, "non_field_errors", "not both"),
        ({"team": None}, "non_field_errors", "not both"),
        ({"team": "nope"}, "team", "no team"),
    ],
)
def test_bad_windows_are_a_400_saying_why(
    staff_api, team, integration, change, field, problem
):
    response = staff_api.post(
        "/api/v1/maintenance-windows/", {**BODY, **change}, format="json"
    )
    assert response.status_code == 400, response.content
    assert problem in str(response.json()["detail"][field])
    assert not MaintenanceWindow.objects.exists()


def test_put_twice_changes_nothing_the_second_time(staff_api, team, writes):
    made = staff_api.post("/api/v1/maintenance-windows/", BODY, format="json").json()
    url = f"/api/v1/maintenance-windows/{made['id']}/"
    changed = {**BODY, "reason": "longer upgrade", "ends_at": "2026-03-02T04:00:00Z"}
    first = staff_api.put(url, changed, format="json")
    assert first.status_code == 200, first.content
    with writes() as w:
        second = staff_api.put(url, changed, format="json")
    assert second.json() == first.json()
    assert w.statements == []


def test_a_window_is_deleted(staff_api, team):
    made = staff_api.post("/api/v1/maintenance-windows/", BODY, format="json").json()
    url = f"/api/v1/maintenance-windows/{made['id']}/"
    assert staff_api.delete(url).status_code == 204
    assert not MaintenanceWindow.objects.exists()


def test_another_teams_member_sees_nothing(staff_api, team, other_team, make_member):
    made = staff_api.post("/api/v1/maintenance-windows/", BODY, format="json").json()
    zoe = make_member("zoe")
    other_team.members.add(zoe)
    theirs = bearer_client(zoe.user)
    assert theirs.get("/api/v1/maintenance-windows/").json()["results"] == []
    url = f"/api/v1/maintenance-windows/{made['id']}/"
    assert theirs.get(url).status_code == 404
