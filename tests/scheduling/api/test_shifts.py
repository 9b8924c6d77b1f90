"""/api/v1/shifts/: read-only, filtered, cursor-paginated, scoped to the caller."""

from __future__ import annotations

import pytest

from tests.api_client import bearer_client
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def rotation(payments, make_rotation):
    team, people = payments
    return make_rotation(team, people, now=utc(2026, 1, 1))


def _all_pages(api, url: str) -> list[dict]:
    found: list[dict] = []
    while url:
        body = api.get(url).json()
        found += body["results"]
        url = body["next"]
    return found


def test_cursor_pages_cover_every_shift_once_in_order(staff_api, rotation):
    url = "/api/v1/shifts/?team=payments&page_size=3"
    paged = _all_pages(staff_api, url)
    whole = staff_api.get("/api/v1/shifts/?team=payments&page_size=500").json()
    assert len(paged) == len(whole["results"]) > 10
    assert [s["id"] for s in paged] == [s["id"] for s in whole["results"]]
    assert [s["start"] for s in paged] == sorted(s["start"] for s in paged)
    newest_first = staff_api.get("/api/v1/shifts/?ordering=-starts_at").json()
    assert newest_first["results"][0]["start"] == max(s["start"] for s in paged)


def test_filters_by_member_role_and_time_range(staff_api, rotation):
    url = (
        "/api/v1/shifts/?member=eve&role=primary"
        "&from=2026-01-19T00:00:00Z&to=2026-02-16T00:00:00Z"
    )
    shifts = staff_api.get(url).json()["results"]
    # Eve is primary in week 3 of the six-week cycle.
    assert [(s["member"], s["start"]) for s in shifts] == [
        ("eve", "2026-01-19T06:00:00Z")
    ]


def test_a_naive_time_is_refused_saying_so(staff_api, rotation):
    response = staff_api.get("/api/v1/shifts/?from=2026-01-19T00:00:00")
    assert response.status_code == 400
    assert "no UTC offset" in str(response.json()["detail"])


def test_an_outsider_sees_no_shifts_and_cannot_name_the_team(rotation, make_team):
    _, (zoe,) = make_team("checkout", people=["zoe"])
    api = bearer_client(zoe.user)
    assert api.get("/api/v1/shifts/").json()["results"] == []
    assert api.get("/api/v1/shifts/?team=payments").status_code == 400
    assert api.get("/api/v1/shifts/?member=alice").status_code == 400


def test_a_time_with_a_percent_sign_is_refused_not_a_500(staff_api, rotation):
    # "%00" in the message once reached django-filter's "message % params".
    response = staff_api.get("/api/v1/shifts/", {"from": "%00"})
    assert response.status_code == 400
    assert "%00" in str(response.json())
