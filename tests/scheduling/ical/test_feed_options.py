"""A member's feed options: busy instead of free, and a reminder before each
shift -- read back by icalendar, the strict ``ical`` parser and khal."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from scheduling.members import member_update
from tests.cast import utc
from tests.scheduling.ical.parsers import khal_lines, with_ical, with_icalendar

pytestmark = pytest.mark.django_db

NOW = utc(2026, 1, 20)


@pytest.fixture
def weekly(payments, make_rotation):
    team, people = payments
    return team, people, make_rotation(team, people, now=utc(2026, 1, 1))


def live(body: bytes):
    cal = icalendar.Calendar.from_ical(body)
    return [e for e in cal.walk("VEVENT") if str(e.get("STATUS")) != "CANCELLED"]


def test_by_default_on_call_is_free_and_silent(weekly, make_feed, render, alice):
    body = render(make_feed(alice), NOW).body
    events = live(body)
    assert events
    assert {str(e["TRANSP"]) for e in events} == {"TRANSPARENT"}
    assert {str(e["X-MICROSOFT-CDO-BUSYSTATUS"]) for e in events} == {"FREE"}
    assert b"BEGIN:VALARM" not in body
    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    assert {e.transparency for e in strict.events} == {"TRANSPARENT"}


def test_busy_and_a_reminder_as_the_member_asks(
    weekly, make_feed, render, alice, tmp_path, django_capture_on_commit_callbacks
):
    feed = make_feed(alice)
    before = {str(e["UID"]): int(e["SEQUENCE"]) for e in live(render(feed, NOW).body)}
    with django_capture_on_commit_callbacks(execute=True):
        member_update(member=alice, feed_busy=True, feed_alarm_minutes=30)

    body = render(feed, NOW).body

    events = live(body)
    assert {str(e["TRANSP"]) for e in events} == {"OPAQUE"}
    assert {str(e["X-MICROSOFT-CDO-BUSYSTATUS"]) for e in events} == {"BUSY"}
    for event in events:
        [alarm] = event.walk("VALARM")
        assert alarm["ACTION"] == "DISPLAY"
        assert alarm.decoded("TRIGGER") == -dt.timedelta(minutes=30)
        # A changed event for the clients: SEQUENCE moves.
        assert int(event["SEQUENCE"]) == before[str(event["UID"])] + 1
    # The strict parser reads the same events, opaque, each with its alarm.
    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    assert {
        e.transparency
        for e in strict.events
        if e.status is None or e.status.value != "CANCELLED"
    } == {"OPAQUE"}
    assert all(
        [a.trigger for a in e.alarm] == [-dt.timedelta(minutes=30)]
        for e in strict.events
        if e.status is None or e.status.value != "CANCELLED"
    )
    assert with_icalendar(body) == with_ical(body)
    # khal imports it and shows the alarm on every shift it lists.
    first = dt.date(2026, 1, 20)
    shown = khal_lines(body, tmp_path, first, 90, "{uid}|{alarm-symbol}")
    window_end = utc(2026, 1, 20) + dt.timedelta(days=90)
    expected = {
        e.uid
        for e in with_icalendar(body)
        if e.status == "CONFIRMED" and e.end > utc(2026, 1, 20) and e.start < window_end
    }
    assert len(expected) >= 3
    assert {line.split("|")[0] for line in shown} == expected
    assert all(line.split("|")[1].strip() == "⏰" for line in shown), shown


def test_team_feeds_stay_free_whatever_a_member_asks(
    weekly, make_feed, render, alice, django_capture_on_commit_callbacks
):
    team, _, _ = weekly
    with django_capture_on_commit_callbacks(execute=True):
        member_update(member=alice, feed_busy=True, feed_alarm_minutes=30)
    body = render(make_feed(team), NOW).body
    assert {str(e["TRANSP"]) for e in live(body)} == {"TRANSPARENT"}
    assert b"BEGIN:VALARM" not in body


def test_member_changes_bump_the_schedule_version(
    alice, team, django_capture_on_commit_callbacks
):
    from scheduling.version import schedule_version

    def bumped(**fields) -> bool:
        before = schedule_version().number
        with django_capture_on_commit_callbacks(execute=True):
            member_update(member=alice, **fields)
        return schedule_version().number > before

    assert bumped(phone="+254799999999")  # feeds show phones
    assert bumped(time_zone="Europe/London")
    assert bumped(feed_alarm_minutes=15)
    assert not bumped(phone="+254799999999")  # nothing changed: no bump
    assert bumped(feed_alarm_minutes=0)
    alice.refresh_from_db()
    assert alice.feed_alarm_minutes is None
    assert bumped(teams=[])  # a member's feed shows their teams


def test_a_member_sets_their_own_feed_options_through_the_api(alice, bob):
    from tests.api_client import bearer_client

    client = bearer_client(alice.user)
    url = "/api/v1/members/alice/"
    response = client.patch(
        url, {"feed_busy": True, "feed_alarm_minutes": 20}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["feed_busy"], response.json()["feed_alarm_minutes"]) == (
        True,
        20,
    )
    assert (
        client.patch(url, {"feed_alarm_minutes": -1}, format="json").status_code == 400
    )
    # A teammate's options are not theirs to change.
    other = client.patch("/api/v1/members/bob/", {"feed_busy": True}, format="json")
    assert other.status_code == 403
    off = client.patch(url, {"feed_alarm_minutes": 0}, format="json")
    assert off.json()["feed_alarm_minutes"] is None
