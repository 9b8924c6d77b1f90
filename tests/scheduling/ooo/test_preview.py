"""Rotation previews (API and admin) flag a shift whose holder is out of office."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from scheduling.models import OutOfOfficeCalendar, Unavailability
from tests.api_client import bearer_client
from tests.scheduling.test_admin import rotation_form

UTC = dt.UTC
# Week 2 of the demo rotation (from Monday 5 January 2026 09:00 Nairobi):
# charlie primary, david secondary, 12 to 19 January.
WEEK2 = "from=2026-01-12T09:00:00%2B03:00&to=2026-01-19T09:00:00%2B03:00"
BODY = {
    "team": "payments",
    "name": "weekly",
    "scheme": "paired",
    "participants": ["alice", "bob", "charlie", "david", "eve", "frank"],
    "start_date": "2026-01-05",
    "handoff_time": "09:00:00",
}


def away(member, starts_at, ends_at, summary):
    calendar, _ = OutOfOfficeCalendar.objects.get_or_create(
        member=member, defaults={"url": "http://127.0.0.1:9/never-fetched.ics"}
    )
    Unavailability.objects.create(
        member=member,
        calendar=calendar,
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
    )


def test_the_api_preview_names_why_a_holder_is_away(admin_user, payments, cast):
    away(
        cast["david"],
        dt.datetime(2026, 1, 14, tzinfo=UTC),
        dt.datetime(2026, 1, 15, tzinfo=UTC),
        "Wedding",
    )
    away(
        cast["eve"],
        dt.datetime(2026, 1, 14, tzinfo=UTC),
        dt.datetime(2026, 1, 15, tzinfo=UTC),
        "Off",
    )

    response = bearer_client(admin_user).post(
        f"/api/v1/rotations/preview/?{WEEK2}", BODY, format="json"
    )

    assert response.status_code == 200, response.content
    assert [(s["member"], s["unavailable"]) for s in response.json()["shifts"]] == [
        ("charlie", []),
        ("david", ["Wedding"]),
    ]


def test_the_admin_preview_marks_a_conflict(admin_client, payments):
    team, people = payments
    now = timezone.now()
    # Everyone away for the next minute: only the slot under way is touched (a
    # handoff is Monday 09:00 Nairobi), both of its holders.
    for member in people:
        away(member, now, now + dt.timedelta(minutes=1), "Offsite")

    html = admin_client.post(
        "/admin/scheduling/rotation/add/preview/", rotation_form(team, people)
    ).content.decode()

    rows = html.split("<tr><td>")[1:]
    assert len(rows) == 12
    assert rows[0].count("⚠ conflict") == 2
    assert 'title="out of office: Offsite"' in rows[0]
    assert all("conflict" not in row for row in rows[1:])


def _checkout_with(member, now=dt.datetime(2026, 1, 1, tzinfo=UTC)):
    """Checkout (UTC), where ``member`` alone is primary around the clock from
    Monday 5 January 2026 (shifts made as seen at ``now``): on call there
    whenever payments has them on call."""
    from tests import cast

    checkout = cast.team_create("checkout", time_zone="UTC")
    cast.member_join(checkout, member.username)
    cast.rotation_create(
        checkout,
        [member],
        name="checkout",
        scheme="primary_only",
        handoff_time=dt.time(0, 0),
        now=now,
    )
    return checkout


def test_the_api_preview_names_a_double_booking(admin_user, payments, cast):
    _checkout_with(cast["charlie"])

    response = bearer_client(admin_user).post(
        f"/api/v1/rotations/preview/?{WEEK2}", BODY, format="json"
    )

    assert response.status_code == 200, response.content
    assert [
        (s["member"], s["unavailable"], s["double_booked"])
        for s in response.json()["shifts"]
    ] == [
        ("charlie", [], ["on call for Checkout as primary"]),
        ("david", [], []),
    ]


def test_the_api_preview_reads_the_same_double_bookings_as_the_conflicts(
    admin_user, payments, cast
):
    """Once the previewed rotation is saved, the conflicts API finds the same
    double booking: one mechanism (scheduling.conflicts) for both."""
    from scheduling.conflicts import DOUBLE_BOOKED, team_conflicts
    from tests import cast as casting

    team, people = payments
    _checkout_with(cast["charlie"])
    preview = bearer_client(admin_user).post(
        f"/api/v1/rotations/preview/?{WEEK2}", BODY, format="json"
    )
    casting.rotation_create(team, people, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    start = dt.datetime(2026, 1, 12, 6, tzinfo=UTC)
    found = team_conflicts(
        team=team, start=start, end=start + dt.timedelta(weeks=1), now=start
    )
    flagged = [
        (s["member"], s["start"], s["end"], s["double_booked"])
        for s in preview.json()["shifts"]
        if s["double_booked"]
    ]
    assert [
        (c.member.username, c.starts_at, c.ends_at, c.reasons)
        for c in found
        if c.kind == DOUBLE_BOOKED
    ] == [
        (
            member,
            dt.datetime.fromisoformat(a),
            dt.datetime.fromisoformat(b),
            reasons,
        )
        for member, a, b, reasons in flagged
    ]


def test_the_admin_preview_marks_a_double_booking(admin_client, payments):
    team, people = payments
    alice = people[0]
    # Checkout has alice on call around the clock: every previewed slot she
    # holds in payments is a double booking, and no other.
    _checkout_with(alice, now=None)
    html = admin_client.post(
        "/admin/scheduling/rotation/add/preview/", rotation_form(team, people)
    ).content.decode()

    rows = html.split("<tr><td>")[1:]
    assert len(rows) == 12
    marked = [row for row in rows if "⚠ conflict" in row]
    assert marked  # alice holds a role in some of the next 12 slots
    for row in rows:
        for holder in row.split("<td>")[-2:]:
            assert ("⚠ conflict" in holder) == holder.startswith("Alice")
    assert 'title="double booked: on call for Checkout as primary"' in marked[0]
