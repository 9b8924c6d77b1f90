from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.scheduling.ooo.server import PtoServer


@pytest.fixture
def pto_server(settings):
    """A loopback server for PTO calendars; loopback fetches allowed, short
    timeouts (a hung server is given up on quickly)."""
    settings.OOO_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OOO_FETCH_READ_TIMEOUT = 0.5
    settings.OOO_FETCH_CONNECT_TIMEOUT = 1.0
    server = PtoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def stamp(day: dt.date, hour: int = 0) -> str:
    return f"{day:%Y%m%d}T{hour:02d}0000Z"


def pto_calendar(today: dt.date) -> bytes:
    """Alice's PTO calendar, relative to ``today`` (the rotation's first day):

    * every week from tomorrow 10:00-12:00 UTC, four times, the second one
      excepted (EXDATE): busy on days 1, 15 and 22;
    * all of day 2 off (an all-day event);
    * day 4 09:00-17:00, transparent (free): not busy;
    * day 5 10:00-11:00, cancelled: not busy.
    """
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//pto//EN",
        "BEGIN:VEVENT",
        "UID:weekly@test",
        f"DTSTAMP:{stamp(today)}",
        f"DTSTART:{stamp(d(1), 10)}",
        f"DTEND:{stamp(d(1), 12)}",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        f"EXDATE:{stamp(d(8), 10)}",
        "SUMMARY:Physio",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:allday@test",
        f"DTSTAMP:{stamp(today)}",
        f"DTSTART;VALUE=DATE:{d(2):%Y%m%d}",
        f"DTEND;VALUE=DATE:{d(3):%Y%m%d}",
        "SUMMARY:Day off",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:transparent@test",
        f"DTSTAMP:{stamp(today)}",
        f"DTSTART:{stamp(d(4), 9)}",
        f"DTEND:{stamp(d(4), 17)}",
        "TRANSP:TRANSPARENT",
        "SUMMARY:Working from the cafe",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:cancelled@test",
        f"DTSTAMP:{stamp(today)}",
        f"DTSTART:{stamp(d(5), 10)}",
        f"DTEND:{stamp(d(5), 11)}",
        "STATUS:CANCELLED",
        "SUMMARY:Dentist (cancelled)",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()
