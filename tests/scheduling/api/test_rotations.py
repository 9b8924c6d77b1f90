"""/api/v1/rotations/: staff define rotations through scheduling.rotations (shifts
generated at once); preview shows the shifts without saving; PUT is idempotent."""

from __future__ import annotations

import pytest

from scheduling.models import Rotation, Shift

pytestmark = pytest.mark.django_db

CAST = ["alice", "bob", "charlie", "david", "eve", "frank"]
BODY = {
    "team": "payments",
    "name": "weekly",
    "scheme": "paired",
    "participants": CAST,
    "start_date": "2026-01-05",
    "handoff_time": "09:00:00",
}
WEEK2 = "from=2026-01-12T09:00:00%2B03:00&to=2026-01-19T09:00:00%2B03:00"


def test_staff_create_a_rotation_and_its_shifts_appear(staff_api, payments):
    response = staff_api.post("/api/v1/rotations/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["participants"] == CAST and body["team"] == "payments"
    assert Shift.objects.filter(rotation_id=body["id"]).exists()
    shifts = staff_api.get(f"/api/v1/shifts/?rotation={body['id']}&{WEEK2}").json()
    # The reference scheme's week 2: Charlie primary, David secondary.
    assert {(s["role"], s["member"]) for s in shifts["results"]} == {
        ("primary", "charlie"),
        ("secondary", "david"),
    }


def test_an_odd_paired_roster_is_a_400_and_nothing_is_saved(staff_api, payments):
    body = {**BODY, "participants": CAST[:5]}
    response = staff_api.post("/api/v1/rotations/", body, format="json")
    assert response.status_code == 400
    assert "participants" in response.json()["detail"]
    assert not Rotation.objects.exists()


def test_an_unknown_participant_is_a_400(staff_api, payments):
    body = {**BODY, "participants": [*CAST[:5], "mallory"]}
    response = staff_api.post("/api/v1/rotations/", body, format="json")
    assert response.status_code == 400
    assert "mallory" in str(response.json()["detail"]["participants"])


def test_put_twice_changes_nothing_the_second_time(staff_api, payments, writes):
    created = staff_api.post("/api/v1/rotations/", BODY, format="json").json()
    url = f"/api/v1/rotations/{created['id']}/"
    changed = {**BODY, "participants": list(reversed(CAST)), "layer": 2}
    first = staff_api.put(url, changed, format="json")
    assert first.status_code == 200, first.content
    shifts = list(Shift.objects.order_by("pk").values_list("pk", flat=True))
    with writes() as w:
        second = staff_api.put(url, changed, format="json")
    assert second.json() == first.json()  # updated_at included
    assert w.statements == []
    assert list(Shift.objects.order_by("pk").values_list("pk", flat=True)) == shifts


def test_a_roster_change_regenerates_the_future_only(staff_api, payments):
    created = staff_api.post("/api/v1/rotations/", BODY, format="json").json()
    started = list(
        Shift.objects.filter(starts_at__lte="2026-12-01T00:00Z").values_list(
            "pk", "member_id"
        )
    )
    body = {**BODY, "participants": ["bob", "alice", *CAST[2:]]}
    response = staff_api.put(f"/api/v1/rotations/{created['id']}/", body, format="json")
    assert response.status_code == 200
    assert all(
        Shift.objects.filter(pk=pk, member_id=member).exists() for pk, member in started
    )


def test_preview_shows_the_shifts_and_saves_nothing(staff_api, payments):
    response = staff_api.post(
        f"/api/v1/rotations/preview/?{WEEK2}", BODY, format="json"
    )
    assert response.status_code == 200, response.content
    assert [(s["role"], s["member"]) for s in response.json()["shifts"]] == [
        ("primary", "charlie"),
        ("secondary", "david"),
    ]
    assert response.json()["shifts"][0]["start"] == "2026-01-12T06:00:00Z"
    assert not Rotation.objects.exists() and not Shift.objects.exists()


def test_preview_of_a_change_to_a_saved_rotation(staff_api, payments):
    created = staff_api.post("/api/v1/rotations/", BODY, format="json").json()
    before = Shift.objects.count()
    body = {**BODY, "scheme": "primary_only"}
    response = staff_api.post(
        f"/api/v1/rotations/preview/?rotation={created['id']}&{WEEK2}",
        body,
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [s["role"] for s in response.json()["shifts"]] == ["primary"]
    assert Shift.objects.count() == before
    assert Rotation.objects.get().scheme == "paired"


def test_preview_refuses_a_naive_time_saying_so(staff_api, payments):
    response = staff_api.post(
        "/api/v1/rotations/preview/?from=2026-01-12T09:00:00", BODY, format="json"
    )
    assert response.status_code == 400
    assert "no UTC offset" in str(response.json()["detail"]["from"])


def test_a_rotation_with_history_is_not_deleted(staff_api, payments):
    created = staff_api.post("/api/v1/rotations/", BODY, format="json").json()
    response = staff_api.delete(f"/api/v1/rotations/{created['id']}/")
    assert response.status_code == 409
    assert "Deactivate" in response.json()["error"]
    assert Rotation.objects.exists()


def test_a_rotation_is_addressed_by_slug_as_well_as_id(staff_api, payments):
    created = staff_api.post("/api/v1/rotations/", BODY, format="json").json()
    assert created["slug"] == f"payments-{BODY['name']}".replace(" ", "-").lower()
    by_slug = staff_api.get(f"/api/v1/rotations/{created['slug']}/").json()
    assert by_slug == staff_api.get(f"/api/v1/rotations/{created['id']}/").json()
    renamed = staff_api.patch(
        f"/api/v1/rotations/{created['slug']}/", {"slug": "pay-weekly"}, format="json"
    )
    assert renamed.status_code == 200, renamed.content
    # A PUT that leaves the slug out keeps it.
    again = staff_api.put("/api/v1/rotations/pay-weekly/", BODY, format="json")
    assert again.json()["slug"] == "pay-weekly"
    taken = staff_api.post(
        "/api/v1/rotations/",
        {**BODY, "name": "other", "slug": "pay-weekly"},
        format="json",
    )
    assert taken.status_code == 400
    assert "taken" in str(taken.json()["detail"]["slug"])
