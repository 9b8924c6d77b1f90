"""``/api/v1/feeds/``: make, list, revoke and rotate feeds."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scheduling.models import FeedToken, hash_feed_token
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(payments, make_rotation):
    team, people = payments
    make_rotation(team, people)
    return people[0]


def test_a_member_makes_a_feed_of_their_shifts(alice, settings):
    settings.PUBLIC_BASE_URL = "https://oncall.example.com"
    response = bearer_client(alice.user).post(
        "/api/v1/feeds/", {"member": "alice"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["token"]
    assert body["kind"] == "member" and body["member"] == "alice"
    assert body["url"] == f"https://oncall.example.com/ical/{token}.ics"
    assert body["webcal_url"] == f"webcal://oncall.example.com/ical/{token}.ics"
    feed = FeedToken.objects.get(pk=body["id"])
    assert feed.token_hash == hash_feed_token(token) and feed.owner == alice.user
    assert Client().get(f"/ical/{token}.ics").status_code == 200
    listed = bearer_client(alice.user).get("/api/v1/feeds/").json()
    assert [f["id"] for f in listed] == [body["id"]]
    assert "token" not in listed[0] and "url" not in listed[0]
    assert listed[0]["last_polled_at"] is not None


def test_team_and_rotation_feeds_for_a_teams_member(alice):
    client = bearer_client(alice.user)
    team = client.post("/api/v1/feeds/", {"team": "payments"}, format="json")
    assert team.status_code == 201 and team.json()["kind"] == "team"
    rotation_id = alice.rotations.get().pk
    rotation = client.post("/api/v1/feeds/", {"rotation": rotation_id}, format="json")
    assert rotation.status_code == 201 and rotation.json()["rotation"] == rotation_id
    assert rotation.json()["owner"] == "alice"


def test_a_teammates_feed_is_refused_and_staff_may(alice):
    mine = bearer_client(alice.user).post(
        "/api/v1/feeds/", {"member": "bob"}, format="json"
    )
    assert mine.status_code == 403
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    made = bearer_client(staff).post("/api/v1/feeds/", {"member": "bob"}, format="json")
    assert made.status_code == 201
    assert made.json()["owner"] == "bob"  # bob manages it from now on


@pytest.mark.parametrize(
    "body",
    [{}, {"member": "alice", "team": "payments"}, {"team": "nope"}, {"rotation": 999}],
)
def test_bad_requests_are_400(alice, body):
    response = bearer_client(alice.user).post("/api/v1/feeds/", body, format="json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_rotate_and_revoke(alice):
    client = bearer_client(alice.user)
    made = client.post("/api/v1/feeds/", {"member": "alice"}, format="json").json()
    rotated = client.post(f"/api/v1/feeds/{made['id']}/rotate/")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["id"] == made["id"] and new["token"] != made["token"]
    assert Client().get(f"/ical/{made['token']}.ics").status_code == 404
    assert Client().get(f"/ical/{new['token']}.ics").status_code == 200
    assert client.delete(f"/api/v1/feeds/{made['id']}/").status_code == 204
    assert Client().get(f"/ical/{new['token']}.ics").status_code == 404
    assert client.get("/api/v1/feeds/").json() == []
    assert client.delete(f"/api/v1/feeds/{made['id']}/").status_code == 404
