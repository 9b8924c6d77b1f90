"""/api/v1/teams/: staff create and change teams; members read their own."""

from __future__ import annotations

import zoneinfo

import pytest

from scheduling.models import Shift, Team, TeamMembership
from tests.api_client import bearer_client
from tests.cast import utc

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
BODY = {"slug": "search", "name": "Search", "time_zone": "Europe/Berlin"}


def test_staff_create_a_team_then_find_it_by_slug_and_by_id(staff_api):
    created = staff_api.post("/api/v1/teams/", BODY, format="json")
    assert created.status_code == 201, created.content
    assert created.json() == {**BODY, "id": created.json()["id"], "members": []}
    by_slug = staff_api.get("/api/v1/teams/search/").json()
    by_id = staff_api.get(f"/api/v1/teams/{created.json()['id']}/").json()
    assert by_slug == by_id == created.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "+03:00"}, "time_zone"),
        ({"slug": "not a slug"}, "slug"),
        ({"slug": "payments"}, "slug"),  # taken
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_team_is_a_400_naming_the_field(staff_api, payments, change, field):
    response = staff_api.post("/api/v1/teams/", {**BODY, **change}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid request"
    assert field in response.json()["detail"]
    assert not Team.objects.filter(name="Search").exists()


def test_a_member_lists_only_their_teams(payments, make_team):
    make_team("checkout", people=["zoe"])
    alice = bearer_client(payments[1][0].user)
    assert [t["slug"] for t in alice.get("/api/v1/teams/").json()] == ["payments"]
    assert alice.get("/api/v1/teams/checkout/").status_code == 404


def test_put_twice_changes_nothing_the_second_time(staff_api, payments, writes):
    body = {"slug": "payments", "name": "Payments & Billing", "time_zone": "UTC"}
    first = staff_api.put("/api/v1/teams/payments/", body, format="json")
    assert first.status_code == 200, first.content
    with writes() as w:
        second = staff_api.put("/api/v1/teams/payments/", body, format="json")
    assert second.json() == first.json()
    assert w.statements == []


def test_a_new_time_zone_moves_the_future_handoffs(staff_api, payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people)
    before = set(
        Shift.objects.filter(
            rotation=rotation, starts_at__gt=utc(2027, 1, 1)
        ).values_list("starts_at", flat=True)
    )
    response = staff_api.patch(
        "/api/v1/teams/payments/", {"time_zone": "Europe/London"}, format="json"
    )
    assert response.status_code == 200
    after = Shift.objects.filter(rotation=rotation, starts_at__gt=utc(2027, 1, 1))
    # Monday 09:00 in London, no longer 09:00 in Nairobi (06:00 UTC).
    assert after.exists()
    assert {s.starts_at.astimezone(LONDON).hour for s in after} == {9}
    assert before and {s.hour for s in before} == {6}


def test_memberships_are_added_idempotently(staff_api, payments, make_member):
    make_member("gina")
    url = "/api/v1/teams/payments/members/"
    assert staff_api.post(url, {"member": "gina"}, format="json").status_code == 201
    assert staff_api.post(url, {"member": "gina"}, format="json").status_code == 200
    assert "gina" in staff_api.get("/api/v1/teams/payments/").json()["members"]
    unknown = staff_api.post(url, {"member": "nobody"}, format="json")
    assert unknown.status_code == 400 and "member" in unknown.json()["detail"]


def test_nobody_leaves_a_team_while_on_its_rotation(staff_api, payments, make_rotation):
    team, people = payments
    make_rotation(team, people[:2])
    refused = staff_api.delete("/api/v1/teams/payments/members/alice/")
    assert refused.status_code == 400
    assert "weekly" in str(refused.json()["detail"])
    assert staff_api.delete("/api/v1/teams/payments/members/eve/").status_code == 204
    assert not TeamMembership.objects.filter(
        team=team, member__user__username="eve"
    ).exists()
