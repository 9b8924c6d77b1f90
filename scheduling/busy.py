"""Busy intervals out of an iCalendar body (a member's out-of-office calendar).

Pure: bytes in, intervals out.  Recurring events are expanded with
``recurring-ical-events`` (RRULE, RDATE, EXDATE and moved occurrences).  An
occurrence counts as busy unless it says otherwise: ``TRANSP:TRANSPARENT``,
``STATUS:CANCELLED`` or Outlook's ``X-MICROSOFT-CDO-BUSYSTATUS:FREE``.  All-day
events and floating times are read in the member's own time zone (a day off is
the member's day); times with a zone or in UTC are what they say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

# An out-of-office calendar has a few dozen events; a rule that yields more than
# this within the window (FREQ=MINUTELY...) is cut off rather than expanded.
MAX_OCCURRENCES = 2000
SLACK = dt.timedelta(days=2)


class NotICalendar(ValueError):
    """The body is not an iCalendar object."""


@dataclass(frozen=True)
class Busy:
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str


def _instant(value: dt.date | dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def _is_busy(event: icalendar.Event) -> bool:
    transp = str(event.get("TRANSP", "OPAQUE")).upper()
    status = str(event.get("STATUS", "CONFIRMED")).upper()
    busystatus = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY")).upper()
    return transp != "TRANSPARENT" and status != "CANCELLED" and busystatus != "FREE"


def _bounds(
    event: icalendar.Event, tz: ZoneInfo
) -> tuple[dt.datetime, dt.datetime] | None:
    dtstart = event.get("DTSTART")
    if dtstart is None:
        return None
    start_value = dtstart.dt
    dtend = event.get("DTEND")
    if dtend is not None:
        end_value = dtend.dt
    elif event.get("DURATION") is not None:
        end_value = start_value + event.get("DURATION").dt
    elif isinstance(start_value, dt.datetime):
        return None  # an instant: nobody is away for no time
    else:
        end_value = start_value + dt.timedelta(days=1)  # RFC 5545 §3.6.1
    starts_at, ends_at = _instant(start_value, tz), _instant(end_value, tz)
    return (starts_at, ends_at) if ends_at > starts_at else None


def parse_calendar(body: bytes) -> icalendar.Calendar:
    """The calendar in ``body``; :class:`NotICalendar` if it is none."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise NotICalendar(f"not an iCalendar file ({exc})"[:200]) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise NotICalendar("not an iCalendar file (no VCALENDAR)")
    return calendar


def busy_intervals(
    body: bytes, *, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[Busy]:
    """The busy occurrences of ``body`` that overlap [start, end), in start
    order.  :class:`NotICalendar` if ``body`` cannot be read as a calendar."""
    calendar = parse_calendar(body)
    try:
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).after(
            start
        )
        found: list[Busy] = []
        for n, event in enumerate(occurrences):
            if n >= MAX_OCCURRENCES:
                break
            bounds = _bounds(event, tz)
            if bounds is None:
                continue
            starts_at, ends_at = bounds
            # Occurrences come in start order as the calendar writes times; all-day
            # and floating ones move by up to a day once read in the member's zone.
            if starts_at >= end + SLACK:
                break
            if starts_at >= end or ends_at <= start or not _is_busy(event):
                continue
            summary = str(event.get("SUMMARY", ""))[:200]
            found.append(Busy(starts_at, ends_at, summary))
    except (ValueError, TypeError, OverflowError) as exc:
        raise NotICalendar(f"unreadable events ({exc})"[:200]) from None
    return found
