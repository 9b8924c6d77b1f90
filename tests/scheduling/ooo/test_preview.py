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
