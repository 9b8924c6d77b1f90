"""Short-notice schedule changes, told by SMS (the paging side of
``scheduling.notices``).

``scheduling`` records a :class:`ShiftChangeNotice` per member whose on-call time
in the next 24 hours a change moved, and publishes ``alerts.tasks.
send_shift_notices`` by name; this module sends them through the paging
transport, to the number ``alerts.selectors.member_sms_number`` gives (the first
SMS contact method that is not broken, ``Member.phone`` without any).

Claims.  Each attempt is claimed with a conditional update before it is sent
(two workers never send the same attempt); an attempt claimed by a worker that
died is tried again only after :data:`LEASE`.

Retries.  A transient failure (a timeout, Twilio's 429 or 5xx: ``TransportError``
with ``permanent=False``, or any unexpected error of the transport) is tried
again after :data:`BACKOFF` [attempt] -- 1, 2, 4 then 8 minutes, picked up by the
task's periodic run, never by a delayed Celery task -- up to
:data:`MAX_ATTEMPTS` sends in all; then, or at once for a permanent failure (an
invalid or opted-out number, no SMS number at all), the notice is marked failed
with the reason, which the admin shows.  A notice is 24 hours ahead at most, so
a quarter of an hour of retries still tells the member before the calendar does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from alerts.selectors import member_sms_number
from alerts.transports import TransportError, get_transport
from scheduling.models import ShiftChangeNotice

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH = 200
# The wait after the n-th failed attempt (n = 1, 2, ...).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=4),
    timedelta(minutes=8),
)
MAX_ATTEMPTS = len(BACKOFF) + 1


def shift_notices_send(*, now: datetime) -> dict[str, int]:
    """Send every notice that is due; counts of those sent, those that failed
    for good, and those whose attempt failed and will be retried."""
    due = ShiftChangeNotice.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        sent_at__isnull=True,
        failed_at__isnull=True,
    ).order_by("pk")
    counts = {"sent": 0, "failed": 0, "retrying": 0}
    transport = None
    for notice in due.select_related("member", "team")[:BATCH]:
        claimed = ShiftChangeNotice.objects.filter(
            pk=notice.pk,
            sent_at__isnull=True,
            failed_at__isnull=True,
            claimed_at=notice.claimed_at,
            attempts=notice.attempts,
        ).update(claimed_at=now, attempts=notice.attempts + 1)
        if claimed != 1:
            continue  # another worker has it
        attempt = notice.attempts + 1
        number = member_sms_number(notice.member)
        if number is None:
            counts[_failed(notice, "no SMS number", attempt, now, permanent=True)] += 1
            continue
        transport = transport or get_transport()
        try:
            transport.send_sms(to=number, body=notice.text, status_callback=None)
        except TransportError as exc:
            counts[_failed(notice, str(exc), attempt, now, exc.permanent)] += 1
            continue
        except Exception as exc:  # a bug or a library's surprise: retried, logged
            logger.exception("shift notice %s: unexpected send error", notice.pk)
            reason = f"{type(exc).__name__}: {exc}"
            counts[_failed(notice, reason, attempt, now, permanent=False)] += 1
            continue
        ShiftChangeNotice.objects.filter(pk=notice.pk).update(sent_at=now, error="")
        counts["sent"] += 1
    return counts


def _failed(
    notice: ShiftChangeNotice,
    reason: str,
    attempt: int,
    now: datetime,
    permanent: bool,
) -> str:
    """Record a failed attempt: to be retried after the backoff, or failed for
    good.  Which of the two, as the name of its count."""
    reason = (reason or "failed")[:300]
    rows = ShiftChangeNotice.objects.filter(pk=notice.pk)
    if permanent or attempt >= MAX_ATTEMPTS:
        rows.update(error=reason, failed_at=now, next_attempt_at=None)
        return "failed"
    rows.update(
        error=reason,
        claimed_at=None,
        next_attempt_at=now + BACKOFF[attempt - 1],
    )
    return "retrying"
