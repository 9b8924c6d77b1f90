"""Three independent readers of the feeds we write: ``icalendar`` (the library
that writes them), the ``ical`` package (a strict RFC 5545 parser) and khal
(Debian's command-line calendar, importing into a throwaway vdir)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import icalendar
from ical.calendar_stream import IcsCalendarStream

UTC = dt.UTC


@dataclass(frozen=True, order=True)
class Ev:
    uid: str
    start: dt.datetime
    end: dt.datetime
    status: str  # CONFIRMED or CANCELLED


def with_icalendar(body: bytes) -> list[Ev]:
    cal = icalendar.Calendar.from_ical(body)
    return sorted(
        Ev(
            str(e["UID"]),
            e.decoded("DTSTART").astimezone(UTC),
            e.decoded("DTEND").astimezone(UTC),
            str(e.get("STATUS", "CONFIRMED")),
        )
        for e in cal.walk("VEVENT")
    )


def with_ical(body: bytes) -> list[Ev]:
    cal = IcsCalendarStream.calendar_from_ics(body.decode())
    return sorted(
        Ev(
            e.uid,
            e.dtstart.astimezone(UTC),
            e.dtend.astimezone(UTC),
            e.status.value if e.status else "CONFIRMED",
        )
        for e in cal.events
    )


KHAL_CONFIG = """\
[calendars]
[[oncall]]
path = {path}
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%dT%H:%M
longdatetimeformat = %Y-%m-%dT%H:%M
default_timezone = UTC
local_timezone = UTC
[default]
default_calendar = oncall
"""


def with_khal(body: bytes, workdir: Path, start: dt.date, days: int) -> list[Ev]:
    """Import the feed into a fresh khal calendar and list what khal shows."""
    listed = khal_lines(body, workdir, start, days, "{uid}|{start}|{end}|{status}")
    events = []
    for line in listed:
        uid, a, b, status = line.split("|")
        events.append(
            Ev(
                uid,
                dt.datetime.fromisoformat(a).replace(tzinfo=UTC),
                dt.datetime.fromisoformat(b).replace(tzinfo=UTC),
                status.strip() or "CONFIRMED",
            )
        )
    return sorted(events)


def khal_lines(
    body: bytes, workdir: Path, start: dt.date, days: int, fmt: str
) -> list[str]:
    """Import the feed into a fresh khal calendar; khal's listing in ``fmt``."""
    vdir = workdir / "vdir"
    vdir.mkdir(parents=True)
    config = workdir / "khal.conf"
    config.write_text(KHAL_CONFIG.format(path=vdir))
    feed = workdir / "feed.ics"
    feed.write_bytes(body)
    env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data")}
    run = dict(env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    subprocess.run(
        ["khal", "-c", str(config), "import", "--batch", "-a", "oncall", str(feed)],
        check=True,
        **run,
    )
    listed = subprocess.run(
        [
            "khal",
            "-c",
            str(config),
            "list",
            "--once",
            "--day-format",
            "",
            "--format",
            fmt,
            start.isoformat(),
            f"{days}d",
        ],
        check=True,
        **run,
    ).stdout
    return [line for line in listed.splitlines() if line]
