"""Out-of-office calendars fetched from a loopback server the test starts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduling.models import OutOfOfficeCalendar, Unavailability
from scheduling.out_of_office import ooo_calendar_set, ooo_calendars_fetch
from scheduling.tasks import fetch_out_of_office_calendars
from tests.scheduling.ooo.conftest import pto_calendar
from tests.scheduling.ooo.server import Route

UTC = dt.UTC


def at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def busy_of(member) -> list[tuple[dt.datetime, dt.datetime, str]]:
    return [
        (u.starts_at, u.ends_at, u.summary)
        for u in Unavailability.objects.filter(member=member).order_by("starts_at")
    ]


def test_it_stores_busy_events_expanded_and_skips_free_and_cancelled(
    pto_server, alice, today
):
    url = pto_server.calendar("/alice.ics", pto_calendar(today))
    ooo_calendar_set(member=alice, url=url)

    report = ooo_calendars_fetch(now=timezone.now())

    assert (report.fetched, report.failed) == (1, 0)
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    assert busy_of(alice) == [
        (at(d(1), 10), at(d(1), 12), "Physio"),
        (at(d(2)), at(d(3)), "Day off"),  # all day, in alice's zone (UTC)
        (at(d(15), 10), at(d(15), 12), "Physio"),  # day 8 was an EXDATE
        (at(d(22), 10), at(d(22), 12), "Physio"),
    ]
    calendar = OutOfOfficeCalendar.objects.get(member=alice)
    assert calendar.error == "" and calendar.succeeded_at is not None


def test_an_all_day_event_is_the_members_own_day(pto_server, make_member, today):
    nairobi = make_member("zed", time_zone="Africa/Nairobi")
    d = today + dt.timedelta(days=3)
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:x@t\r\nDTSTAMP:{d:%Y%m%d}T000000Z\r\nDTSTART;VALUE=DATE:{d:%Y%m%d}\r\n"
        "SUMMARY:Off\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    ooo_calendar_set(member=nairobi, url=pto_server.calendar("/zed.ics", body))

    ooo_calendars_fetch(now=timezone.now())

    # Midnight to midnight in Nairobi (UTC+3); no DTEND on a date means one day.
    assert busy_of(nairobi) == [(at(d) - dt.timedelta(hours=3), at(d, 21), "Off")]


def test_it_asks_conditionally_and_keeps_the_busy_time_on_304(pto_server, alice, today):
    url = pto_server.calendar("/alice.ics", pto_calendar(today))
    ooo_calendar_set(member=alice, url=url)
    ooo_calendars_fetch(now=timezone.now())
    etag = pto_server.routes["/alice.ics"].headers["ETag"]

    report = ooo_calendars_fetch(now=timezone.now())

    assert report.not_modified == 1
    assert pto_server.seen[0].headers.get("If-None-Match") is None
    assert pto_server.seen[1].headers["If-None-Match"] == etag
    assert len(busy_of(alice)) == 4


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(status=500, body=b"oops"), "HTTP 500"),
        (Route(status=404), "HTTP 404"),
        (Route(body=b"<html>Sign in</html>"), "not an iCalendar file"),
        (Route(hang=True), "timed out"),
        (Route(endless=True), "larger than"),
        (Route(body=b"BEGIN:VCALENDAR\r\n" * 200_000), "larger than"),
        (
            Route(status=302, headers={"Location": "http://10.1.2.3/pto.ics"}),
            "10.1.2.3",
        ),
        (
            Route(status=302, headers={"Location": "http://169.254.169.254/latest/"}),
            "link-local",
        ),
        (Route(status=302, headers={"Location": "ftp://127.0.0.1/pto.ics"}), "http"),
    ],
    ids=[
        "http-500",
        "http-404",
        "not-ical",
        "timeout",
        "endless",
        "oversize",
        "redirect-private",
        "redirect-metadata",
        "redirect-ftp",
    ],
)
def test_a_failed_fetch_is_recorded_and_the_others_go_on(
    pto_server, settings, alice, bob, today, route, reason
):
    settings.OOO_FETCH_MAX_BYTES = 1024 * 1024
    ooo_calendar_set(
        member=bob, url=pto_server.calendar("/bob.ics", pto_calendar(today))
    )
    good = pto_server.calendar("/alice.ics", pto_calendar(today))
    ooo_calendar_set(member=alice, url=good)
    ooo_calendars_fetch(now=timezone.now())
    assert len(busy_of(alice)) == 4
    pto_server.routes["/alice.ics"] = route
    pto_server.routes.pop("/bob.ics")  # bob's changes so it is fetched in full
    pto_server.calendar("/bob.ics", pto_calendar(today + dt.timedelta(days=1)))

    report = fetch_out_of_office_calendars()

    assert report == {"fetched": 1, "not_modified": 0, "failed": 1}
    calendar = OutOfOfficeCalendar.objects.get(member=alice)
    assert reason in calendar.error
    assert calendar.error_at is not None
    assert good not in calendar.error
    # The last good fetch still stands; bob's fetch went on after alice's failed.
    assert len(busy_of(alice)) == 4
    assert busy_of(bob)[0][0] == at(today + dt.timedelta(days=2), 10)


def test_private_addresses_are_refused_unless_allowed(pto_server, settings, alice):
    settings.OOO_FETCH_ALLOWED_NETWORKS = []
    url = pto_server.calendar("/alice.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    ooo_calendar_set(member=alice, url=url)

    report = ooo_calendars_fetch(now=timezone.now())

    assert report.failed == 1
    assert "127.0.0.1" in OutOfOfficeCalendar.objects.get(member=alice).error
    assert pto_server.seen == []  # refused before connecting


def test_a_redirect_to_an_allowed_address_is_followed(pto_server, alice, today):
    target = pto_server.calendar("/real.ics", pto_calendar(today))
    pto_server.routes["/moved.ics"] = Route(status=301, headers={"Location": target})
    ooo_calendar_set(member=alice, url=pto_server.url("/moved.ics"))

    ooo_calendars_fetch(now=timezone.now())

    assert [s.path for s in pto_server.seen] == ["/moved.ics", "/real.ics"]
    assert len(busy_of(alice)) == 4


def test_a_new_url_forgets_the_old_calendar(pto_server, alice, today):
    ooo_calendar_set(
        member=alice, url=pto_server.calendar("/a.ics", pto_calendar(today))
    )
    ooo_calendars_fetch(now=timezone.now())
    assert busy_of(alice)

    ooo_calendar_set(member=alice, url=pto_server.url("/b.ics"))

    assert busy_of(alice) == []
    assert OutOfOfficeCalendar.objects.get(member=alice).etag == ""
    ooo_calendar_set(member=alice, url="")
    assert not OutOfOfficeCalendar.objects.filter(member=alice).exists()
