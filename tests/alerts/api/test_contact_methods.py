"""/api/v1/members/<username>/contact-methods/ and /api/v1/contact-methods/<id>/:
a member manages their own numbers; a teammate reads them; PUT is idempotent."""

from __future__ import annotations

import pytest

from alerts.models import ContactMethod
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


def test_a_member_adds_numbers_that_go_last(team, alice, bob):
    team.members.add(alice)
    api = bearer_client(alice.user)
    url = "/api/v1/members/alice/contact-methods/"
    first = api.post(url, {"phone": "+254711000001", "label": "mobile"}, format="json")
    second = api.post(url, {"phone": "+254711000002"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert [m["phone"] for m in api.get(url).json()] == [
        "+254711000001",
        "+254711000002",
    ]
    assert [m["position"] for m in api.get(url).json()] == [0, 1]


@pytest.mark.parametrize("phone", ["0711 000 001", "+254700000001x", ""])
def test_a_bad_number_is_a_400(team, alice, phone):
    team.members.add(alice)
    api = bearer_client(alice.user)
    response = api.post(
        "/api/v1/members/alice/contact-methods/", {"phone": phone}, format="json"
    )
    assert response.status_code == 400
    assert "phone" in response.json()["detail"]


def test_the_same_number_twice_is_a_400(team, alice):
    team.members.add(alice)
    api = bearer_client(alice.user)
    url = "/api/v1/members/alice/contact-methods/"
    api.post(url, {"phone": "+254711000001"}, format="json")
    assert api.post(url, {"phone": "+254711000001"}, format="json").status_code == 400


def test_a_teammate_reads_but_may_not_change(team, alice, bob):
    team.members.add(alice)
    method = ContactMethod.objects.create(member=alice, phone="+254711000001")
    api = bearer_client(bob.user)
    assert api.get("/api/v1/members/alice/contact-methods/").status_code == 200
    url = f"/api/v1/contact-methods/{method.pk}/"
    assert api.patch(url, {"sms": False}, format="json").status_code == 403
    assert api.delete(url).status_code == 403
    assert (
        api.post(
            "/api/v1/members/alice/contact-methods/", {"phone": "+1"}, format="json"
        ).status_code
        == 403
    )


def test_put_twice_changes_nothing_and_a_new_number_is_not_broken(team, alice, writes):
    team.members.add(alice)
    method = ContactMethod.objects.create(
        member=alice,
        phone="+254711000001",
        broken_reason="unreachable",
        broken_at="2026-01-01T00:00Z",
    )
    api = bearer_client(alice.user)
    url = f"/api/v1/contact-methods/{method.pk}/"
    body = {"phone": "+254711000009", "label": "new", "sms": True, "voice": False}
    first = api.put(url, body, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["broken_at"] is None
    with writes() as w:
        second = api.put(url, body, format="json")
    assert second.json() == first.json()
    assert w.statements == []
