"""A member on call in two teams at once is flagged in both: the conflicts API
and the schedule picture read the member's effective shifts in their other
teams, label the overlap a double booking, and suggest no cover who is on call
elsewhere then."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduling.conflicts import (
    DOUBLE_BOOKED,
    UNAVAILABLE,
    conflict_cover,
    team_conflicts,
)
from scheduling.overrides import override_create
from tests import cast
from tests.api_client import bearer_client
from tests.scheduling.ooo.test_admin import picture
from tests.scheduling.ooo.test_conflicts import at, away

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def checkout(other_team, rotation, alice, charlie):
    """Checkout's weekly pair from today 00:00 UTC: alice primary (as in
    payments, where bob is her secondary) and charlie secondary (free in
    payments this week)."""
    cast.member_join(other_team, "alice")
    cast.member_join(other_team, "charlie")
    cast.rotation_starting_now(other_team, [alice, charlie], name="checkout")
    assert cast.who(other_team, timezone.now()) == ("alice", "charlie")
    return other_team


def _window() -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    now = timezone.now()
    today = now.astimezone(UTC).date()
    return now, at(today), at(today + dt.timedelta(days=3))


def test_a_member_on_call_in_two_teams_is_flagged_in_both(rotation, checkout):
    now, start, end = _window()

    [here] = team_conflicts(team=rotation.team, start=start, end=end, now=now)
    [there] = team_conflicts(team=checkout, start=start, end=end, now=now)

    assert (here.member.username, here.role, here.kind) == (
        "alice",
        "primary",
        DOUBLE_BOOKED,
    )
    assert (here.starts_at, here.ends_at) == (start, end)
    assert here.reasons == ["on call for Checkout as primary"]
    assert here.label == "double booked (on call for Checkout as primary)"
    assert (there.member.username, there.role, there.kind) == (
        "alice",
        "primary",
        DOUBLE_BOOKED,
    )
    assert there.reasons == ["on call for Payments as primary"]
    # Charlie is free in payments but on call in checkout: no cover.
    assert [s.member.username for s in here.suggestions] == ["david", "eve", "frank"]
    assert there.suggestions == []  # both of checkout's people are on call


def test_an_override_elsewhere_ends_the_double_booking(rotation, checkout, eve):
    now, start, end = _window()
    cast.member_join(checkout, "eve")
    override_create(
        rotation=checkout.rotations.get(),
        role="primary",
        member=eve,
        starts_at=start,
        ends_at=end,
    )
    assert team_conflicts(team=rotation.team, start=start, end=end, now=now) == []


def test_time_off_and_double_booking_are_told_apart(rotation, checkout, alice):
    now, start, end = _window()
    day = start.date() + dt.timedelta(days=1)
    away(alice, at(day, 10), at(day, 12), summary="Dentist")

    found = team_conflicts(team=rotation.team, start=start, end=end, now=now)

    assert [(c.kind, c.starts_at, c.ends_at) for c in found] == [
        (DOUBLE_BOOKED, start, end),
        (UNAVAILABLE, at(day, 10), at(day, 12)),
    ]


def test_the_api_labels_a_double_booking(rotation, checkout, alice):
    _, start, end = _window()
    response = bearer_client(alice.user).get(
        "/api/v1/teams/payments/conflicts/",
        {"from": start.isoformat(), "to": end.isoformat()},
    )
    assert response.status_code == 200
    [conflict] = response.json()["conflicts"]
    assert conflict["kind"] == "double_booked"
    assert conflict["description"] == "double booked (on call for Checkout as primary)"
    assert conflict["reasons"] == ["on call for Checkout as primary"]
    assert [s["member"]["username"] for s in conflict["suggestions"]] == [
        "david",
        "eve",
        "frank",
    ]


def test_the_picture_marks_it_and_one_click_covers_it(
    admin_client, rotation, checkout, david
):
    team = rotation.team
    today = timezone.now().astimezone(UTC).date()
    html = picture(admin_client, team, today - dt.timedelta(days=today.weekday()))
    assert 'class="conflict-mark"' in html
    assert "Conflict: Alice is double booked (on call for Checkout as primary)" in html

    now, start, end = _window()
    [conflict] = team_conflicts(team=team, start=start, end=end, now=now)
    override = conflict_cover(team=team, key=conflict.key, cover=david, now=now)
    assert override.member == david
    assert override.reason == ("Alice double booked (on call for Checkout as primary)")
    assert team_conflicts(team=team, start=start, end=end, now=now) == []
