"""Conflicts: effective on-call time over the holder's time off, with covers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling.conflicts import conflict_cover, team_conflicts
from scheduling.models import OutOfOfficeCalendar, Unavailability
from scheduling.out_of_office import ooo_calendar_set, ooo_calendars_fetch
from scheduling.overrides import override_create
from tests.api_client import bearer_client
from tests.cast import rotation_create
from tests.scheduling.ooo.conftest import pto_calendar

UTC = dt.UTC


def at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def away(member, starts_at, ends_at, summary="PTO"):
    calendar, _ = OutOfOfficeCalendar.objects.get_or_create(
        member=member, defaults={"url": "http://127.0.0.1:9/never-fetched.ics"}
    )
    return Unavailability.objects.create(
        member=member,
        calendar=calendar,
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
    )


def usernames(suggestions) -> list[str]:
    return [s["member"]["username"] for s in suggestions]


def test_conflicts_from_a_fetched_pto_calendar_via_the_api(
    pto_server, rotation, alice, today
):
    ooo_calendar_set(
        member=alice, url=pto_server.calendar("/a.ics", pto_calendar(today))
    )
    ooo_calendars_fetch(now=timezone.now())
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731

    response = bearer_client(alice.user).get(
        "/api/v1/teams/payments/conflicts/",
        {"from": at(today).isoformat(), "to": at(d(28)).isoformat()},
    )

    assert response.status_code == 200
    got = [
        (c["member"]["username"], c["role"], c["start"], c["end"], c["reasons"])
        for c in response.json()["conflicts"]
    ]
    iso = lambda v: v.isoformat().replace("+00:00", "Z")  # noqa: E731
    # Week 1 alice is primary (bob secondary); week 3 is eve and frank's (alice's
    # physio on day 15 is no conflict); week 4 alice is secondary under bob.
    assert got == [
        ("alice", "primary", iso(at(d(1), 10)), iso(at(d(1), 12)), ["Physio"]),
        ("alice", "primary", iso(at(d(2))), iso(at(d(3))), ["Day off"]),
        ("alice", "secondary", iso(at(d(22), 10)), iso(at(d(22), 12)), ["Physio"]),
    ]
    # Free then: the rotation's members holding no role; nobody but alice and bob
    # covered any time in the last 90 days (the rotation began today).
    for conflict in response.json()["conflicts"]:
        assert usernames(conflict["suggestions"]) == [
            "charlie",
            "david",
            "eve",
            "frank",
        ]


def test_an_override_that_moved_the_shift_leaves_no_conflict(rotation, alice, charlie):
    now = timezone.now()
    today = now.date()
    away(alice, at(today, 0) + dt.timedelta(days=1), at(today) + dt.timedelta(days=2))
    assert (
        len(
            team_conflicts(
                team=rotation.team, start=now, end=now + dt.timedelta(days=7), now=now
            )
        )
        == 1
    )

    override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=at(today) + dt.timedelta(days=1),
        ends_at=at(today) + dt.timedelta(days=2),
    )

    assert (
        team_conflicts(
            team=rotation.team, start=now, end=now + dt.timedelta(days=7), now=now
        )
        == []
    )


@pytest.fixture
def older_rotation(team, people):
    """The six-person rotation begun two weeks ago (00:00 UTC): alice/bob, then
    charlie/david, and now eve/frank; charlie covered one day of alice's week."""
    now = timezone.now()
    today = now.astimezone(UTC).date()
    start = today - dt.timedelta(days=14)
    rotation = rotation_create(
        team,
        people,
        now=now,
        scheme="paired",
        shift_length=1,
        shift_unit="weeks",
        start_date=start,
        handoff_time=dt.time(0, 0),
        handoff_weekday=start.weekday(),
        time_zone="UTC",
    )
    charlie = people[2]
    override_create(
        rotation=rotation,
        role="primary",
        member=charlie,
        starts_at=at(start),
        ends_at=at(start) + dt.timedelta(days=1),
    )
    return rotation


def test_suggestions_are_the_free_members_fewest_recent_hours_first(
    older_rotation, people
):
    alice, bob, charlie, david, eve, frank = people
    now = timezone.now()
    today = now.astimezone(UTC).date()
    away(
        eve, at(today + dt.timedelta(days=1), 10), at(today + dt.timedelta(days=1), 12)
    )
    away(
        david,
        at(today + dt.timedelta(days=1), 11),
        at(today + dt.timedelta(days=1), 13),
    )

    [conflict] = team_conflicts(
        team=older_rotation.team, start=now, end=now + dt.timedelta(days=6), now=now
    )

    assert (conflict.member, conflict.role) == (eve, "primary")
    # frank is on call (secondary), david is away; in 90 days alice held 144 h
    # (charlie took a day), bob 168 h, charlie 192 h.
    assert [(s.member.username, s.covered_hours) for s in conflict.suggestions] == [
        ("alice", 144.0),
        ("bob", 168.0),
        ("charlie", 192.0),
    ]


def test_a_suggestion_becomes_an_override_and_the_conflict_is_gone(
    older_rotation, people
):
    alice, bob, charlie, david, eve, frank = people
    now = timezone.now()
    day = now.astimezone(UTC).date() + dt.timedelta(days=1)
    away(eve, at(day, 10), at(day, 12), summary="Dentist")
    team = older_rotation.team
    [conflict] = team_conflicts(
        team=team, start=now, end=now + dt.timedelta(days=6), now=now
    )

    with pytest.raises(ValidationError, match="not free"):
        conflict_cover(team=team, key=conflict.key, cover=frank, now=now)
    override = conflict_cover(team=team, key=conflict.key, cover=alice, now=now)

    assert (override.member, override.role) == (alice, "primary")
    assert (override.starts_at, override.ends_at) == (at(day, 10), at(day, 12))
    assert override.reason == "Eve unavailable: Dentist"
    assert (
        team_conflicts(team=team, start=now, end=now + dt.timedelta(days=6), now=now)
        == []
    )
    with pytest.raises(ValidationError, match="gone"):
        conflict_cover(team=team, key=conflict.key, cover=bob, now=now)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "x",
        "1:primary:1:99999999999999999:1",
        "a:b:c:d:e",
        "1:primary:1:2000000000:1000000000",
        "1:primary:1:-99999999999:99999999999",
    ],
)
def test_an_unknown_conflict_key_is_refused(rotation, alice, key):
    with pytest.raises(ValidationError):
        conflict_cover(team=rotation.team, key=key, cover=alice, now=timezone.now())


def test_the_api_refuses_a_bad_range(rotation, alice):
    client = bearer_client(alice.user)
    url = "/api/v1/teams/payments/conflicts/"
    assert (
        client.get(
            url, {"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}
        ).status_code
        == 400
    )
    assert client.get(url, {"from": "2026-01-01T00:00:00"}).status_code == 400
    assert (
        client.get(
            url, {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
        ).status_code
        == 400
    )
