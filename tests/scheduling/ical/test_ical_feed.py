"""The feed is the effective schedule: read back by three independent parsers,
it equals ``team_schedule``'s answer -- after an override, after a swap, across
DST -- with UIDs that survive a regeneration and SEQUENCEs that move on change."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from scheduling.ical import window_start
from scheduling.materialize import rotation_materialize
from scheduling.models import Rotation, Shift
from scheduling.overrides import (
    OverrideSpec,
    override_create,
    override_delete,
    override_swap,
)
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_schedule
from tests.cast import utc
from tests.scheduling.ical.parsers import with_ical, with_icalendar, with_khal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
ROLE = {"Primary": PRIMARY, "Secondary": SECONDARY}
NOW = utc(2026, 1, 20)


def _merge(rows):
    """(role, name, start, end) rows with contiguous equal (role, name) joined."""
    out = []
    for row in sorted(rows, key=lambda r: (r[0], r[2])):
        if out and out[-1][:2] == row[:2] and out[-1][3] == row[2]:
            out[-1] = (*row[:2], out[-1][2], row[3])
        else:
            out.append(row)
    return sorted(out, key=lambda r: (r[2], r[0]))


def expected(team, start, members=None):
    """What team_schedule says, per role and member, from ``start`` to the
    horizon, contiguous stretches joined."""
    end = max(r.generated_until for r in team.rotations.all())
    sched = team_schedule(team=team, start=start, end=end)
    rows = []
    for seg in sched.effective:
        for role in (PRIMARY, SECONDARY):
            holder = getattr(seg.resolution, role)
            if holder is None:
                continue
            name = sched.members[holder.member_id].display_name
            if members is None or name in members:
                rows.append((role, name, seg.starts_at, seg.ends_at))
    return _merge(rows)


def served(body: bytes, start: dt.datetime):
    """The live events, as (role, name, start, end), clipped to the window start
    (the first events keep their real start) and joined like ``expected``."""
    rows = []
    for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        if str(event.get("STATUS")) == "CANCELLED":
            continue
        title, _, name = str(event["SUMMARY"]).partition(" — ")
        role = ROLE[title.split()[0]]
        a = event.decoded("DTSTART").astimezone(UTC)
        rows.append((role, name, max(a, start), event.decoded("DTEND")))
    return _merge(rows)


def assert_parsers_agree(body: bytes, tmp_path, start: dt.datetime, days: int):
    by_icalendar = with_icalendar(body)
    assert by_icalendar == with_ical(body)
    shown = with_khal(body, tmp_path, start.date(), days)
    # khal lists what is in [start, start + days); the others read everything.
    inside = [
        e
        for e in by_icalendar
        if e.end > start and e.start < start + dt.timedelta(days=days)
    ]
    assert shown == inside
    assert len(shown) > 10


@pytest.fixture
def weekly(payments, make_rotation):
    team, people = payments
    return team, people, make_rotation(team, people, now=utc(2026, 1, 1))


def test_the_calendar_says_what_it_is(weekly, make_feed, render):
    team, _, _ = weekly
    cal = icalendar.Calendar.from_ical(render(make_feed(team), NOW).body)
    assert cal["VERSION"] == "2.0"
    assert cal["CALSCALE"] == "GREGORIAN"
    assert cal["METHOD"] == "PUBLISH"
    assert str(cal["PRODID"]).startswith("-//oncall//")
    assert cal["X-WR-CALNAME"] == "Payments on-call"
    assert cal["X-WR-TIMEZONE"] == "Africa/Nairobi"
    assert cal.decoded("REFRESH-INTERVAL") == dt.timedelta(hours=1)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in cal.to_ical()
    assert cal["X-PUBLISHED-TTL"] == "PT1H"
    events = cal.walk("VEVENT")
    first = events[0]
    for prop in (
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "DESCRIPTION",
        "LAST-MODIFIED",
        "SEQUENCE",
    ):
        assert prop in first, prop
    assert first["TRANSP"] == "TRANSPARENT"
    assert first["X-MICROSOFT-CDO-BUSYSTATUS"] == "FREE"
    # UTC throughout, consistently: no VTIMEZONE needed, none given.
    assert not cal.walk("VTIMEZONE")
    assert all(e["DTSTART"].to_ical().endswith(b"Z") for e in events)
    assert all(e["DTEND"].to_ical().endswith(b"Z") for e in events)
    assert first["SUMMARY"] == "Primary on-call · Payments — Alice"
    description = str(first["DESCRIPTION"])
    assert "Secondary: Bob (+2547" in description
    assert f"/admin/scheduling/team/{team.pk}/schedule/?start=2026-01-05" in description
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_the_window_runs_from_30_days_back_to_the_horizon(weekly, make_feed, render):
    team, _, rotation = weekly
    events = with_icalendar(render(make_feed(team), utc(2026, 3, 1)).body)
    start = window_start(utc(2026, 3, 1))
    assert start == utc(2026, 1, 30)
    assert min(e.start for e in events) < start < min(e.end for e in events)
    assert max(e.end for e in events) == rotation.generated_until


def _override(rotation, people):
    # Eve covers Alice's primary for a day in week 1.
    override_create(
        rotation=rotation,
        role=PRIMARY,
        member=people[4],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 8, 6),
        reason="dentist",
    )


def _swap(rotation, people):
    # Alice takes Charlie's Tuesday (week 2), Charlie takes Alice's Wednesday.
    override_swap(
        rotation=rotation,
        first=OverrideSpec(
            PRIMARY, people[0], utc(2026, 1, 13, 6), utc(2026, 1, 14, 6)
        ),
        second=OverrideSpec(PRIMARY, people[2], utc(2026, 1, 7, 6), utc(2026, 1, 8, 6)),
    )


@pytest.mark.parametrize("change", [None, _override, _swap])
def test_the_team_feed_is_the_effective_schedule(
    weekly, make_feed, render, tmp_path, change
):
    team, people, rotation = weekly
    if change is not None:
        change(rotation, people)
    body = render(make_feed(team), NOW).body
    start = window_start(NOW)
    assert served(body, start) == expected(team, start)
    assert_parsers_agree(body, tmp_path, start, 90)


def test_an_override_splits_the_replaced_event(weekly, make_feed, render):
    team, people, rotation = weekly
    _override(rotation, people)
    served_rows = served(render(make_feed(team), NOW).body, window_start(NOW))
    alice_eve = [r for r in served_rows if r[0] == PRIMARY and r[2] < utc(2026, 1, 12)]
    assert alice_eve == [
        (PRIMARY, "Alice", utc(2026, 1, 5, 6), utc(2026, 1, 7, 6)),
        (PRIMARY, "Eve", utc(2026, 1, 7, 6), utc(2026, 1, 8, 6)),
        (PRIMARY, "Alice", utc(2026, 1, 8, 6), utc(2026, 1, 12, 6)),
    ]


def test_a_member_feed_holds_their_shifts_in_every_role(
    weekly, make_feed, render, tmp_path
):
    team, people, rotation = weekly
    _override(rotation, people)
    body = render(make_feed(people[4]), NOW).body  # Eve
    cal = icalendar.Calendar.from_ical(body)
    assert cal["X-WR-CALNAME"] == "Payments on-call — Eve"
    titles = {str(e["SUMMARY"]) for e in cal.walk("VEVENT")}
    assert titles == {"Primary on-call · Payments", "Secondary on-call · Payments"}
    rows = []
    for e in cal.walk("VEVENT"):
        role = ROLE[str(e["SUMMARY"]).split()[0]]
        rows.append(
            (
                role,
                "Eve",
                max(e.decoded("DTSTART"), window_start(NOW)),
                e.decoded("DTEND"),
            )
        )
    assert _merge(rows) == expected(team, window_start(NOW), members={"Eve"})
    assert "Covering for Alice" in body.decode().replace("\r\n ", "")


def test_a_rotation_feed_names_the_rotation(weekly, make_feed, render):
    _, _, rotation = weekly
    cal = icalendar.Calendar.from_ical(render(make_feed(rotation), NOW).body)
    assert cal["X-WR-CALNAME"] == "Payments on-call — weekly"
    assert str(cal.walk("VEVENT")[0]["SUMMARY"]) == (
        "Primary on-call · Payments / weekly — Alice"
    )


@pytest.mark.parametrize(
    ("zone", "first_day", "now"),
    [
        # Clocks go forward 2026-03-29 (an hour) and back 2026-10-25.
        ("Europe/London", dt.date(2026, 3, 25), utc(2026, 4, 2)),
        # Clocks go back half an hour 2026-04-05 and forward 2026-10-04.
        ("Australia/Lord_Howe", dt.date(2026, 4, 1), utc(2026, 4, 9)),
    ],
)
def test_handoffs_stay_at_local_time_across_dst(
    make_team, make_rotation, make_feed, render, tmp_path, zone, first_day, now
):
    team, people = make_team("ops", time_zone=zone)
    make_rotation(
        team,
        people,
        now=now - dt.timedelta(days=10),
        start_date=first_day,
        shift_unit="days",
        shift_length=1,
    )
    body = render(make_feed(team), now).body
    start = window_start(now)
    assert served(body, start) == expected(team, start)
    events = with_icalendar(body)
    starts = {e.start.astimezone(team.tz).time() for e in events}
    assert starts == {dt.time(9, 0)}
    lengths = {e.end - e.start for e in events}
    assert dt.timedelta(hours=24) in lengths and len(lengths) == 2  # 23/25 or 23.5/24.5
    assert_parsers_agree(body, tmp_path, start, 45)


def test_uids_survive_a_full_regeneration(
    weekly, make_feed, render, django_capture_on_commit_callbacks
):
    team, people, rotation = weekly
    feed = make_feed(team)
    before = with_icalendar(render(feed, NOW).body)
    old_rows = set(Shift.objects.values_list("pk", flat=True))
    # Every future shift deleted and generated again from the definition.
    with django_capture_on_commit_callbacks(execute=True):
        Rotation.objects.filter(pk=rotation.pk).update(generated_fingerprint="")
        rotation.refresh_from_db()
        report = rotation_materialize(rotation=rotation, now=utc(2026, 1, 1))
    assert report.regenerated == 1 and report.shifts_deleted > 0
    assert old_rows - set(Shift.objects.values_list("pk", flat=True))  # new rows
    after = render(feed, NOW).body
    assert with_icalendar(after) == before
    sequences = {
        int(e["SEQUENCE"]) for e in icalendar.Calendar.from_ical(after).walk("VEVENT")
    }
    assert sequences == {0}


def test_sequence_rises_on_change_and_gone_events_are_cancelled(
    weekly, make_feed, render, django_capture_on_commit_callbacks, tmp_path
):
    team, people, rotation = weekly
    feed = make_feed(team)
    first = icalendar.Calendar.from_ical(render(feed, NOW).body)
    alice = next(e for e in first.walk("VEVENT") if "Alice" in str(e["SUMMARY"]))
    assert alice["SEQUENCE"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        _override(rotation, people)
    second = icalendar.Calendar.from_ical(render(feed, NOW).body)
    by_uid = {str(e["UID"]): e for e in second.walk("VEVENT")}
    changed = by_uid[str(alice["UID"])]
    assert changed["SEQUENCE"] == 1  # same UID, shorter: Alice until Eve takes over
    assert changed.decoded("DTEND") == utc(2026, 1, 7, 6)
    assert changed.decoded("LAST-MODIFIED") > alice.decoded("LAST-MODIFIED")
    added = [
        e
        for e in second.walk("VEVENT")
        if str(e["UID"]) not in {str(x["UID"]) for x in first.walk("VEVENT")}
    ]
    assert sorted(str(e["SUMMARY"]).split(" — ")[1] for e in added) == ["Alice", "Eve"]
    assert {e["SEQUENCE"] for e in added} == {0}

    with django_capture_on_commit_callbacks(execute=True):
        override_delete(override=rotation.overrides.get())
    third = render(feed, NOW).body
    events = {
        str(e["UID"]): e for e in icalendar.Calendar.from_ical(third).walk("VEVENT")
    }
    assert events[str(alice["UID"])]["SEQUENCE"] == 2  # whole again
    assert events[str(alice["UID"])].decoded("DTEND") == utc(2026, 1, 12, 6)
    for e in added:
        gone = events[str(e["UID"])]
        assert gone["STATUS"] == "CANCELLED"
        assert gone["SEQUENCE"] == 1
    statuses = {e.status for e in with_khal(third, tmp_path, dt.date(2026, 1, 1), 30)}
    assert statuses == {"CONFIRMED", "CANCELLED"}


def test_cancelled_events_are_dropped_after_30_days(
    weekly, make_feed, render, django_capture_on_commit_callbacks
):
    team, people, rotation = weekly
    feed = make_feed(team)
    render(feed, NOW)
    with django_capture_on_commit_callbacks(execute=True):
        _override(rotation, people)
    render(feed, NOW)
    with django_capture_on_commit_callbacks(execute=True):
        override_delete(override=rotation.overrides.get())
    assert b"CANCELLED" in render(feed, NOW).body
    later = utc(2026, 2, 28)  # the override's events are outside the window now
    assert b"CANCELLED" not in render(feed, later).body
