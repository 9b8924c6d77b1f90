"""scheduling.busy: busy intervals out of an iCalendar body (pure)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.busy import NotICalendar, busy_intervals

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


def calendar(*events: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN"]
    for n, event in enumerate(events):
        uid = [] if "UID:" in event else [f"UID:{n}@t"]
        body += ["BEGIN:VEVENT", *uid, "DTSTAMP:20260101T000000Z"]
        body += event.strip().splitlines()
        body += ["END:VEVENT"]
    body.append("END:VCALENDAR")
    return ("\r\n".join(body) + "\r\n").encode()


def window():
    return {
        "start": dt.datetime(2026, 3, 1, tzinfo=UTC),
        "end": dt.datetime(2026, 5, 1, tzinfo=UTC),
    }


def test_an_all_day_event_on_the_spring_dst_day_is_23_hours():
    body = calendar("DTSTART;VALUE=DATE:20260329\nSUMMARY:Off")
    [busy] = busy_intervals(body, tz=LONDON, **window())
    assert busy.starts_at == dt.datetime(2026, 3, 29, 0, tzinfo=UTC)  # GMT
    assert busy.ends_at == dt.datetime(2026, 3, 29, 23, tzinfo=UTC)  # BST midnight
    assert busy.ends_at - busy.starts_at == dt.timedelta(hours=23)


def test_a_weekly_local_event_keeps_its_wall_time_across_dst():
    body = calendar(
        "DTSTART;TZID=Europe/London:20260323T090000\n"
        "DTEND;TZID=Europe/London:20260323T100000\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nSUMMARY:Physio"
    )
    got = [(b.starts_at, b.ends_at) for b in busy_intervals(body, tz=UTC, **window())]
    assert got == [
        (
            dt.datetime(2026, 3, 23, 9, tzinfo=UTC),
            dt.datetime(2026, 3, 23, 10, tzinfo=UTC),
        ),
        (
            dt.datetime(2026, 3, 30, 8, tzinfo=UTC),
            dt.datetime(2026, 3, 30, 9, tzinfo=UTC),
        ),
    ]


def test_a_moved_occurrence_and_outlook_free_time():
    body = calendar(
        "UID:standup@t\nDTSTART:20260302T100000Z\nDTEND:20260302T110000Z\n"
        "RRULE:FREQ=DAILY;COUNT=3\nSUMMARY:Standup off",
        "UID:standup@t\nRECURRENCE-ID:20260303T100000Z\nDTSTART:20260303T150000Z\n"
        "DTEND:20260303T160000Z\nSUMMARY:Standup off",
        "DTSTART:20260310T100000Z\nDTEND:20260310T110000Z\n"
        "X-MICROSOFT-CDO-BUSYSTATUS:FREE\nSUMMARY:Tentative",
    )
    got = [b.starts_at.hour for b in busy_intervals(body, tz=UTC, **window())]
    assert got == [10, 15, 10]


def test_an_unbounded_rule_is_cut_at_the_window():
    body = calendar(
        "DTSTART:20260301T000000Z\nDTEND:20260301T000100Z\nRRULE:FREQ=HOURLY"
    )
    found = busy_intervals(body, tz=UTC, **window())
    assert 1000 < len(found) <= 2000
    assert all(b.starts_at < window()["end"] for b in found)


@pytest.mark.parametrize(
    "body", [b"", b"<html>Sign in</html>", b"BEGIN:VCARD\r\nEND:VCARD\r\n", b"\xff\xfe"]
)
def test_what_is_not_a_calendar_is_refused(body):
    with pytest.raises(NotICalendar):
        busy_intervals(body, tz=UTC, **window())
