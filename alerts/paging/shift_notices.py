"""Short-notice schedule changes, told by SMS (the paging side of
``scheduling.notices``).

``scheduling`` records a :class:`ShiftChangeNotice` per member whose on-call time
in the next 24 hours a change moved, and publishes ``alerts.tasks.
send_shift_notices`` by name; this module sends them through the paging
transport.  Each notice is claimed with a conditional update before it is sent
(two workers never send the same one), and a notice claimed by a worker that
died is sent again only after :data:`LEASE`.  The first SMS number of the
member's contact methods is used (``Member.phone`` without any); a failure is
recorded on the notice, not retried: by the time a retry could succeed, the
calendar feed has caught up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from alerts.paging.numbers import member_numbers
from alerts.transports import TransportError, get_transport
from scheduling.models import ShiftChangeNotice

LEASE = timedelta(minutes=5)
BATCH = 200


def shift_notices_send(*, now: datetime) -> dict[str, int]:
    """Send every notice not sent yet; counts of sent and failed."""
    due = ShiftChangeNotice.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE),
        sent_at__isnull=True,
        error="",
    ).order_by("pk")
    sent = failed = 0
    transport = None
    for notice in due.select_related("member", "team")[:BATCH]:
        claimed = ShiftChangeNotice.objects.filter(
            pk=notice.pk, sent_at__isnull=True, claimed_at=notice.claimed_at
        ).update(claimed_at=now)
        if claimed != 1:
            continue  # another worker has it
        numbers = member_numbers(member=notice.member, channel="sms")
        if not numbers:
            _failed(notice, "no SMS number")
            failed += 1
            continue
        transport = transport or get_transport()
        try:
            transport.send_sms(to=numbers[0][1], body=notice.text, status_callback=None)
        except TransportError as exc:
            _failed(notice, str(exc))
            failed += 1
            continue
        ShiftChangeNotice.objects.filter(pk=notice.pk).update(sent_at=now)
        sent += 1
    return {"sent": sent, "failed": failed}


def _failed(notice: ShiftChangeNotice, reason: str) -> None:
    ShiftChangeNotice.objects.filter(pk=notice.pk).update(
        error=(reason or "failed")[:300]
    )
