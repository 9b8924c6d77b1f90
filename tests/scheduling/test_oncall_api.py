from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from scheduling.overrides import override_create
from tests.api_client import token_for
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(payments):
    """Alice's client: she is a member of payments."""
    user = payments[1][0].user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.fixture
def weekly(payments, make_rotation):
    team, people = payments
    return make_rotation(team, people, now=utc(2026, 1, 1), handoff_weekday=0)


def test_it_answers_who_is_on_call_at_an_instant(api, weekly):
    response = api.get(
        "/api/v1/teams/payments/oncall/", {"at": "2026-01-13T10:00:00+03:00"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["team"] == "payments"
    assert body["primary"] == {
        "username": "charlie",
        "name": "Charlie",
        "phone": body["primary"]["phone"],
    }
    assert body["secondary"]["username"] == "david"
    assert body["shift_start"] == "2026-01-12T06:00:00Z"
    assert body["shift_end"] == "2026-01-19T06:00:00Z"
    assert body["at"] == "2026-01-13T07:00:00Z"
    assert body["override"] is False


def test_a_plus_sign_decoded_to_a_space_is_read_as_the_offset(api, weekly):
    # ?at=2026-01-13T10:00:00+03:00 typed unescaped into a URL.
    response = api.get("/api/v1/teams/payments/oncall/?at=2026-01-13T10:00:00+03:00")
    assert response.status_code == 200
    assert response.json()["at"] == "2026-01-13T07:00:00Z"


def test_it_reports_an_override(api, weekly, payments):
    _, (alice, bob, charlie, david, eve, frank) = payments
    override_create(
        rotation=weekly,
        role="primary",
        member=eve,
        starts_at=utc(2026, 1, 13, 6),
        ends_at=utc(2026, 1, 14, 6),
    )
    body = api.get(
        "/api/v1/teams/payments/oncall/", {"at": "2026-01-13T12:00:00Z"}
    ).json()
    assert body["primary"]["username"] == "eve"
    assert body["secondary"]["username"] == "david"
    assert body["override"] is True
    assert (body["shift_start"], body["shift_end"]) == (
        "2026-01-13T06:00:00Z",
        "2026-01-14T06:00:00Z",
    )


def test_unknown_team_is_a_json_404(api, weekly):
    response = api.get("/api/v1/teams/nope/oncall/")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."} or "error" in response.json()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("2026-01-13T10:00:00", "no UTC offset"),
        ("yesterday", "not an ISO 8601"),
        ("2026-13-40T10:00:00Z", "not an ISO 8601"),
    ],
)
def test_a_bad_or_naive_at_is_a_400_naming_the_problem(api, weekly, raw, words):
    response = api.get("/api/v1/teams/payments/oncall/", {"at": raw})
    assert response.status_code == 400
    body = response.json()
    assert words in body["detail"]["at"][0]


def test_without_at_it_answers_for_now(api, weekly):
    body = api.get("/api/v1/teams/payments/oncall/").json()
    now = dt.datetime.now(dt.UTC)
    at = dt.datetime.fromisoformat(body["at"])
    assert abs((at - now).total_seconds()) < 60


def test_nobody_on_call_before_the_rotation_starts(api, weekly):
    body = api.get(
        "/api/v1/teams/payments/oncall/", {"at": "2025-12-01T00:00:00Z"}
    ).json()
    assert body["primary"] is None and body["secondary"] is None
    assert body["shift_start"] is None and body["rotation"] is None


def test_another_teams_member_gets_a_404(weekly):
    outsider = get_user_model().objects.create_user("outsider")
    client = APIClient()
    client.force_authenticate(outsider)
    response = client.get("/api/v1/teams/payments/oncall/")
    assert response.status_code == 404
    assert "phone" not in response.content.decode()


def test_it_requires_authentication(weekly):
    response = APIClient().get("/api/v1/teams/payments/oncall/")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_the_schema_documents_the_endpoint(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/teams/{slug}/oncall/"]["get"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["at"]
    assert {"200", "400", "404"} <= set(operation["responses"])
