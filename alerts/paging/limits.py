"""Storm protection: a member gets at most ``STORM_MAX_PAGES`` SMS and calls per
``STORM_WINDOW_SECONDS``; beyond that, their new pages are *held* and go out together
in a bundle (``paging/bundles.py``).

Nothing is dropped: a held page is still a page of its step (the escalation goes
on to the next person on time), and the bundle names every incident it stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q

from alerts.models import Page, PageBundle, TimelineEntry
from scheduling.models import Member

logger = logging.getLogger(__name__)


def storm_pages_in_window(
    *, members: Iterable[int], now: datetime, exclude: Iterable[int] = ()
) -> dict[int, int]:
    """member id -> SMS and calls counted against their limit at ``now`` (in flight
    or sent within the window; a bundle counts once), leaving out ``exclude``.
    Two grouped queries whatever the number of members."""
    members = list(members)
    since = now - timedelta(seconds=settings.STORM_WINDOW_SECONDS)
    # Bundled pages are counted through their bundle: one SMS for all of them.
    pages = (
        Page.objects.filter(member_id__in=members)
        .filter(Q(sent_at__gte=since) | Q(status=Page.Status.SENDING))
        .exclude(status=Page.Status.BUNDLED)
        .exclude(pk__in=list(exclude))
    )
    counts = dict.fromkeys(members, 0)
    for member_id, n in (
        pages.order_by().values_list("member_id").annotate(n=Count("pk"))
    ):
        counts[member_id] += n
    for member_id, n in (
        PageBundle.objects.filter(member_id__in=members, sent_at__gte=since)
        .order_by()
        .values_list("member_id")
        .annotate(n=Count("pk"))
    ):
        counts[member_id] += n
    return counts


def storm_hold_over_limit(*, pages: list[Page], now: datetime) -> set[int]:
    """Called in the claim transaction of ``pages`` (claimed, ``sending``); holds
    those past their member's limit and returns their ids.

    As if the pages were sent one after another in the order given: each counts
    what its member already got plus the pages before it here that go out.  The
    members' rows are locked (in id order, so two batches cannot deadlock) so two
    workers sending to the same person count each other's in-flight pages
    (PostgreSQL; SQLite serializes writers anyway).
    """
    limit = settings.STORM_MAX_PAGES
    if limit <= 0 or not pages:
        return set()
    member_ids = sorted({p.member_id for p in pages})
    list(
        Member.objects.select_for_update()
        .filter(pk__in=member_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts = storm_pages_in_window(
        members=member_ids, now=now, exclude=[p.pk for p in pages]
    )
    held: list[Page] = []
    for page in pages:
        if counts[page.member_id] < limit:
            counts[page.member_id] += 1
        else:
            held.append(page)
    if not held:
        return set()
    Page.objects.filter(pk__in=[p.pk for p in held]).update(
        status=Page.Status.HELD, claimed_until=None, attempts=F("attempts") - 1
    )
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=page.incident,
            kind=TimelineEntry.Kind.PAGE,
            text=f"storm protection: {page.member.display_name} already got {limit} "
            f"pages in {settings.STORM_WINDOW_SECONDS // 60} min; this "
            f"{'SMS' if page.channel == 'sms' else 'call'} goes out in a bundle",
            at=now,
        )
        for page in held
    )
    for page in held:
        page.status = Page.Status.HELD
    return {p.pk for p in held}
