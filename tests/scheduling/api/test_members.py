"""/api/v1/members/: staff create people; a member changes their own phone and
time zone; PUT is idempotent."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from scheduling.models import Member
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

NEW = {
    "username": "hana",
    "name": "Hana Okafor",
    "phone": "+254700000777",
    "time_zone": "Africa/Lagos",
    "teams": ["payments"],
}


def test_staff_create_a_member_in_a_team(staff_api, payments):
    response = staff_api.post("/api/v1/members/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in NEW} == NEW
    user = get_user_model().objects.get(username="hana")
    assert user.get_full_name() == "Hana Okafor"
    assert not user.has_usable_password()
    assert staff_api.get(f"/api/v1/members/{body['id']}/").json() == body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "0700 000 777"}, "phone"),
        ({"time_zone": "Nairobi"}, "time_zone"),
        ({"username": "alice"}, "username"),  # taken
        ({"username": "no spaces please"}, "username"),
        ({"teams": ["nope"]}, "teams"),
    ],
)
def test_a_bad_member_is_a_400_naming_the_field(staff_api, payments, change, field):
    response = staff_api.post("/api/v1/members/", {**NEW, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"]
    assert not Member.objects.filter(phone=NEW["phone"]).exists()


def test_a_member_changes_their_own_phone_and_time_zone_only(payments):
    alice, bob = payments[1][0], payments[1][1]
    api = bearer_client(alice.user)
    change = {"phone": "+254711111111", "time_zone": "Europe/Paris"}
    response = api.patch("/api/v1/members/alice/", change, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.phone, alice.time_zone) == ("+254711111111", "Europe/Paris")
    assert (
        api.patch("/api/v1/members/alice/", {"name": "Al"}, format="json").status_code
        == 403
    )
    assert api.patch("/api/v1/members/bob/", change, format="json").status_code == 403
    bob.refresh_from_db()
    assert bob.phone != "+254711111111"
    assert api.get("/api/v1/members/bob/").json()["phone"] == bob.phone


def test_put_twice_changes_nothing_the_second_time(
    staff_api, payments, make_team, writes
):
    make_team("checkout", people=[])
    body = {
        "username": "alice",
        "name": "Alice Mwangi",
        "phone": "+254700000001",
        "time_zone": "Africa/Nairobi",
        "active": True,
        "teams": ["checkout", "payments"],
    }
    first = staff_api.put("/api/v1/members/alice/", body, format="json")
    assert first.status_code == 200, first.content
    assert {k: first.json()[k] for k in body} == body
    with writes() as w:
        second = staff_api.put("/api/v1/members/alice/", body, format="json")
    assert second.json() == first.json()
    assert w.statements == []


def test_a_username_cannot_change(staff_api, payments):
    body = {
        "username": "alicia",
        "name": "Alice",
        "phone": "+254700000001",
        "time_zone": "UTC",
        "active": True,
        "teams": ["payments"],
    }
    response = staff_api.put("/api/v1/members/alice/", body, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["detail"]


def test_an_outsider_sees_only_themself(payments, make_team):
    _, (zoe,) = make_team("checkout", people=["zoe"])
    api = bearer_client(zoe.user)
    assert [m["username"] for m in api.get("/api/v1/members/").json()] == ["zoe"]
    assert api.get("/api/v1/members/alice/").status_code == 404


def test_a_member_without_a_phone_carries_a_paging_warning(
    staff_api, payments, django_assert_max_num_queries
):
    """People imported without a number (Grafana OnCall has none) are listed with
    the reason pages cannot reach them; contact methods count as a number."""
    from alerts.paging.contacts import contact_method_create

    Member.objects.filter(user__username__in=["bob", "charlie"]).update(phone="")
    charlie = Member.objects.get(user__username="charlie")
    contact_method_create(member=charlie, phone="+254700000999", label="m", position=0)
    with django_assert_max_num_queries(8):  # not one query per member
        listed = staff_api.get("/api/v1/members/").json()
    warnings = {m["username"]: m["paging_warning"] for m in listed}
    assert (warnings["alice"], warnings["bob"], warnings["charlie"]) == (
        "",
        "no phone number",
        "",
    )
