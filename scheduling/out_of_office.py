"""Out-of-office calendars: a member's external iCal feed of time off, fetched
into :class:`Unavailability` rows that conflicts are read from.

A fetch goes through :mod:`scheduling.safe_http` (http/https only, no private
addresses unless ``OOO_FETCH_ALLOWED_NETWORKS`` says so, timeouts, a size cap,
conditional on the last ``ETag``).  Whatever goes wrong -- an HTTP error, a
timeout, an oversize or unreadable body, a refused address -- is recorded on the
calendar (reason and time, for the admin), and the member's unavailability
stays as the last good fetch left it.  :func:`ooo_calendars_fetch` never raises:
one broken calendar does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from scheduling.busy import NotICalendar, busy_intervals
from scheduling.models import Member, OutOfOfficeCalendar, Unavailability
from scheduling.safe_http import FetchError, Limits, fetch, parse_networks

logger = logging.getLogger(__name__)

USER_AGENT = "oncall out-of-office calendar fetcher"
# Busy time is kept from a little back (a conflict under way now) to past the end
# of the materialized shifts.
KEEP_BACK = dt.timedelta(days=1)


@dataclass(frozen=True)
class FetchOutcome:
    ok: bool
    not_modified: bool = False
    busy: int = 0
    error: str = ""


@dataclass(frozen=True)
class FetchReport:
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0


def _limits() -> Limits:
    return Limits(
        connect_timeout=settings.OOO_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.OOO_FETCH_READ_TIMEOUT,
        deadline=settings.OOO_FETCH_DEADLINE,
        max_bytes=settings.OOO_FETCH_MAX_BYTES,
        allowed_networks=parse_networks(settings.OOO_FETCH_ALLOWED_NETWORKS),
    )


def _window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    weeks = settings.ONCALL_SCHEDULE_HORIZON_WEEKS + 1
    return now - KEEP_BACK, now + dt.timedelta(weeks=weeks)


@transaction.atomic
def ooo_calendar_set(*, member: Member, url: str) -> OutOfOfficeCalendar | None:
    """Give ``member`` an out-of-office calendar at ``url`` (empty: none).  A new
    URL forgets the old one's validator, error and unavailability."""
    url = url.strip()
    current = OutOfOfficeCalendar.objects.filter(member=member).first()
    if not url:
        if current is not None:
            current.delete()
        return None
    if current is not None and current.url == url:
        return current
    calendar = current or OutOfOfficeCalendar(member=member)
    calendar.url = url
    calendar.etag, calendar.error = "", ""
    calendar.fetched_at = calendar.succeeded_at = calendar.error_at = None
    calendar.full_clean(exclude=["member"])
    calendar.save()
    Unavailability.objects.filter(calendar=calendar).delete()
    return calendar


def _record_failure(
    calendar: OutOfOfficeCalendar, reason: str, now: dt.datetime
) -> FetchOutcome:
    reason = reason[:300]
    OutOfOfficeCalendar.objects.filter(pk=calendar.pk).update(
        fetched_at=now, error=reason, error_at=now
    )
    calendar.fetched_at, calendar.error, calendar.error_at = now, reason, now
    # The member's id, never the URL: calendar URLs often carry a secret.
    logger.warning(
        "out-of-office calendar of member %s: %s", calendar.member_id, reason
    )
    return FetchOutcome(ok=False, error=reason)


def ooo_calendar_fetch(
    *, calendar: OutOfOfficeCalendar, now: dt.datetime
) -> FetchOutcome:
    """Fetch one calendar and store its busy time as the member's unavailability;
    a failure is recorded, not raised."""
    try:
        result = fetch(
            calendar.url, etag=calendar.etag, limits=_limits(), user_agent=USER_AGENT
        )
    except FetchError as exc:
        return _record_failure(calendar, str(exc), now)
    if result.not_modified:
        OutOfOfficeCalendar.objects.filter(pk=calendar.pk).update(
            fetched_at=now, succeeded_at=now, error="", error_at=None
        )
        return FetchOutcome(ok=True, not_modified=True)
    start, end = _window(now)
    tz = calendar.member.tz
    try:
        busy = busy_intervals(result.body, start=start, end=end, tz=tz)
    except NotICalendar as exc:
        return _record_failure(calendar, str(exc), now)
    with transaction.atomic():
        Unavailability.objects.filter(calendar=calendar).delete()
        Unavailability.objects.bulk_create(
            Unavailability(
                member_id=calendar.member_id,
                calendar=calendar,
                starts_at=b.starts_at,
                ends_at=b.ends_at,
                summary=b.summary,
            )
            for b in busy
        )
        OutOfOfficeCalendar.objects.filter(pk=calendar.pk).update(
            etag=result.etag[:200],
            fetched_at=now,
            succeeded_at=now,
            error="",
            error_at=None,
        )
    return FetchOutcome(ok=True, busy=len(busy))


def ooo_calendars_fetch(*, now: dt.datetime) -> FetchReport:
    """Fetch every active member's calendar, one after another.  Never raises:
    an unexpected error is recorded on its calendar and the next one goes on."""
    fetched = not_modified = failed = 0
    calendars = OutOfOfficeCalendar.objects.filter(member__active=True).select_related(
        "member"
    )
    for calendar in calendars.order_by("pk"):
        try:
            outcome = ooo_calendar_fetch(calendar=calendar, now=now)
        except Exception as exc:  # a bug must not stop the other members' fetches
            logger.exception("out-of-office fetch of member %s", calendar.member_id)
            outcome = _record_failure(
                calendar, f"internal error ({type(exc).__name__})", now
            )
        if not outcome.ok:
            failed += 1
        elif outcome.not_modified:
            not_modified += 1
        else:
            fetched += 1
    return FetchReport(fetched=fetched, not_modified=not_modified, failed=failed)
