from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from scheduling.models import Override
from tests.api_client import token_for
from tests.cast import utc

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.fixture
def operator():
    User = get_user_model()
    return client_for(User.objects.create_superuser("ops", password="x"))


@pytest.fixture
def reader(payments):
    """A member of payments (who may read its schedule and write overrides)."""
    _, people = payments
    return client_for(people[0].user)


@pytest.fixture
def outsider():
    """Signed in, but a member of no team."""
    return client_for(get_user_model().objects.create_user("outsider", password="x"))


@pytest.fixture
def weekly(payments, make_rotation):
    team, people = payments
    return make_rotation(team, people, now=utc(2026, 1, 1))


def test_the_schedule_lists_consecutive_segments(reader, weekly):
    body = reader.get(
        "/api/v1/teams/payments/schedule/",
        {"from": "2026-01-05T09:00:00+03:00", "to": "2026-01-19T09:00:00+03:00"},
    ).json()
    assert body["from"] == "2026-01-05T06:00:00Z"
    assert [
        (s["start"], s["end"], s["primary"]["username"], s["secondary"]["username"])
        for s in body["segments"]
    ] == [
        ("2026-01-05T06:00:00Z", "2026-01-12T06:00:00Z", "alice", "bob"),
        ("2026-01-12T06:00:00Z", "2026-01-19T06:00:00Z", "charlie", "david"),
    ]
    assert body["segments"][0]["rotation"] == "weekly"


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"from": "2026-01-05T09:00:00"}, "from", "no UTC offset"),
        ({"from": "2026-01-05T00:00Z", "to": "2026-01-04T00:00Z"}, "to", "after"),
        ({"from": "2026-01-05T00:00Z", "to": "2026-06-05T00:00Z"}, "to", "92 days"),
    ],
)
def test_a_bad_range_is_a_400_naming_the_field(reader, weekly, query, field, words):
    response = reader.get("/api/v1/teams/payments/schedule/", query)
    assert response.status_code == 400
    assert words in " ".join(response.json()["detail"][field])


def test_an_operator_creates_and_deletes_an_override(operator, reader, weekly):
    response = operator.post(
        "/api/v1/teams/payments/overrides/",
        {
            "rotation": "weekly",
            "role": "primary",
            "member": "eve",
            "start": "2026-01-06T09:00:00+03:00",
            "end": "2026-01-07T09:00:00+03:00",
            "reason": "dentist",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["member"], created["start"], created["created_by"]) == (
        "eve",
        "2026-01-06T06:00:00Z",
        "ops",
    )
    oncall = reader.get(
        "/api/v1/teams/payments/oncall/", {"at": "2026-01-06T12:00:00Z"}
    ).json()
    assert oncall["primary"]["username"] == "eve" and oncall["override"] is True
    listed = reader.get(
        "/api/v1/teams/payments/overrides/",
        {"from": "2026-01-01T00:00Z", "to": "2026-02-01T00:00Z"},
    ).json()
    assert [o["id"] for o in listed] == [created["id"]]

    assert operator.delete(f"/api/v1/overrides/{created['id']}/").status_code == 204
    assert not Override.objects.exists()
    assert operator.delete(f"/api/v1/overrides/{created['id']}/").status_code == 404


def test_an_invalid_override_is_a_400_with_the_reason(operator, weekly):
    response = operator.post(
        "/api/v1/teams/payments/overrides/",
        {
            "rotation": "weekly",
            "role": "primary",
            "member": "bob",
            "start": "2026-01-06T09:00:00+03:00",
            "end": "2026-01-07T09:00:00+03:00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "Bob is secondary" in str(response.json()["detail"])
    response = operator.post(
        "/api/v1/teams/payments/overrides/",
        {
            "rotation": "nightly",
            "role": "primary",
            "member": "nobody",
            "start": "2026-01-06T09:00:00",
            "end": "2026-01-07T09:00:00+03:00",
        },
        format="json",
    )
    detail = response.json()["detail"]
    assert response.status_code == 400
    assert "no UTC offset" in detail["start"][0]


def test_an_unknown_rotation_is_named(operator, weekly):
    response = operator.post(
        "/api/v1/teams/payments/overrides/",
        {
            "rotation": "nightly",
            "role": "primary",
            "member": "eve",
            "start": "2026-01-06T09:00:00Z",
            "end": "2026-01-07T09:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "no rotation 'nightly' (rotations: weekly)" in str(response.json())


DENTIST = {
    "rotation": "weekly",
    "role": "primary",
    "member": "eve",
    "start": "2026-01-06T09:00:00+03:00",
    "end": "2026-01-07T09:00:00+03:00",
}


def test_a_member_of_the_team_creates_and_deletes_an_override(reader, weekly):
    response = reader.post("/api/v1/teams/payments/overrides/", DENTIST, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created_by"] == "alice"
    pk = response.json()["id"]
    assert reader.delete(f"/api/v1/overrides/{pk}/").status_code == 204


def test_an_outsider_neither_sees_nor_writes_the_teams_overrides(
    outsider, operator, weekly
):
    response = outsider.post(
        "/api/v1/teams/payments/overrides/", DENTIST, format="json"
    )
    assert response.status_code == 404
    assert not Override.objects.exists()
    pk = operator.post(
        "/api/v1/teams/payments/overrides/", DENTIST, format="json"
    ).json()["id"]
    assert outsider.delete(f"/api/v1/overrides/{pk}/").status_code == 404
    assert outsider.get("/api/v1/teams/payments/overrides/").status_code == 404
    assert Override.objects.filter(pk=pk).exists()


def test_a_member_cannot_name_a_cover_from_a_team_they_cannot_see(
    reader, weekly, make_member
):
    make_member("zed")
    response = reader.post(
        "/api/v1/teams/payments/overrides/",
        {**DENTIST, "member": "zed"},
        format="json",
    )
    assert response.status_code == 400
    assert "no member with username 'zed'" in str(response.json())
