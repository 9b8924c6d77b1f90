"""Storm protection: a member gets at most ``STORM_MAX_PAGES`` SMS and calls per
``STORM_WINDOW_SECONDS``; beyond that, their new pages are *held* and go out
together, at most one bundle SMS per ``STORM_BUNDLE_SECONDS``
("5 new incidents: #41 HighErrorRate, #42 ... - reply ACK ALL").

Nothing is dropped: a held page is still a page of its step (the escalation goes
on to the next person on time), and the bundle names every incident it stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from alerts.incidents import timeline_add
from alerts.models import Incident, Page, PageBundle, TimelineEntry
from alerts.sms_text import fit
from alerts.transports import TransportError, get_transport
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


def bundles_due(*, now: datetime, limit: int) -> list[int]:
    """For the sweep: bundle held pages, and list bundles to (re)send."""
    lease = now + timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS)
    interval = timedelta(seconds=settings.STORM_BUNDLE_SECONDS)
    with transaction.atomic():
        PageBundle.objects.filter(
            status=PageBundle.Status.SENDING, claimed_until__lte=now
        ).update(status=PageBundle.Status.QUEUED, claimed_until=None)
        # Held pages of incidents closed meanwhile are not worth a message.
        Page.objects.filter(status=Page.Status.HELD).exclude(
            incident__status=Incident.Status.TRIGGERED
        ).update(status=Page.Status.CANCELLED, finished_at=now)
        members = set(
            Page.objects.filter(status=Page.Status.HELD).values_list(
                "member_id", flat=True
            )
        )
        for member_id in members:
            recent = PageBundle.objects.filter(
                member_id=member_id, created_at__gt=now - interval
            ).exclude(status=PageBundle.Status.CANCELLED)
            if recent.exists():
                continue
            bundle = PageBundle.objects.create(member_id=member_id, created_at=now)
            Page.objects.filter(member_id=member_id, status=Page.Status.HELD).update(
                status=Page.Status.BUNDLED, bundle=bundle
            )
        due = Q(status=PageBundle.Status.QUEUED) & (
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )
        ids = list(
            PageBundle.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            PageBundle.objects.filter(due, pk__in=ids).update(claimed_until=lease)
    return ids


def bundle_sms_body(incidents: list[Incident]) -> str:
    count = len(incidents)
    from alerts.paging import incident_alertname

    listed = ", ".join(f"#{i.pk} {incident_alertname(i)}" for i in incidents)
    noun = "incident" if count == 1 else "incidents"
    return fit(f"oncall: {count} new {noun}: {listed}", " - reply ACK ALL")


def bundle_send(*, bundle_id: int, now: datetime | None = None) -> str:
    from alerts.paging import member_numbers, status_callback_url

    now = now or timezone.now()
    lease = timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS)
    with transaction.atomic():
        claimed = PageBundle.objects.filter(
            pk=bundle_id, status=PageBundle.Status.QUEUED
        ).update(
            status=PageBundle.Status.SENDING,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return "not due"
        bundle = PageBundle.objects.select_related("member__user").get(pk=bundle_id)
        pages = list(
            bundle.pages.filter(incident__status=Incident.Status.TRIGGERED)
            .select_related("incident__team")
            .order_by("incident_id")
        )
        incidents = list({p.incident_id: p.incident for p in pages}.values())
        numbers = member_numbers(member=bundle.member, channel="sms")
        if not incidents or not numbers:
            PageBundle.objects.filter(pk=bundle_id).update(
                status=PageBundle.Status.CANCELLED
                if not incidents
                else PageBundle.Status.FAILED,
                claimed_until=None,
                error="" if not incidents else "no working phone number",
            )
            return "nothing to send" if not incidents else "failed: no number"
        body = bundle_sms_body(incidents)
        number = numbers[0][1]
        PageBundle.objects.filter(pk=bundle_id).update(body=body, number=number)
    try:
        provider_id = get_transport().send_sms(
            to=number, body=body, status_callback=status_callback_url(bundle=bundle)
        )
    except TransportError as error:
        with transaction.atomic():
            retry = (
                not error.permanent
            ) and bundle.attempts < settings.PAGE_MAX_ATTEMPTS
            PageBundle.objects.filter(pk=bundle_id).update(
                status=PageBundle.Status.QUEUED if retry else PageBundle.Status.FAILED,
                claimed_until=now + timedelta(seconds=settings.PAGE_RETRY_BASE_SECONDS)
                if retry
                else None,
                error=str(error)[:1000],
            )
            if not retry:
                _bundle_pages_failed(bundle, pages, str(error), now)
        return f"failed: {error}"
    sent_at = timezone.now()
    with transaction.atomic():
        PageBundle.objects.filter(
            pk=bundle_id, status=PageBundle.Status.SENDING
        ).update(
            status=PageBundle.Status.SENT,
            provider_id=provider_id,
            sent_at=sent_at,
            claimed_until=None,
        )
        Page.objects.filter(bundle=bundle, status=Page.Status.BUNDLED).update(
            sent_at=sent_at, number=number, provider_id=provider_id
        )
        for incident in incidents:
            timeline_add(
                incident=incident,
                kind=TimelineEntry.Kind.PAGE,
                text=f"bundle SMS to {bundle.member.display_name} ({number}) sent, "
                f"with {len(incidents)} incident(s)",
                at=sent_at,
                actor=bundle.member,
            )
    logger.info(
        "bundle %s: SMS to %s for %d incidents sent",
        bundle_id,
        bundle.member.username,
        len(incidents),
    )
    return "sent"


def _bundle_pages_failed(
    bundle: PageBundle, pages: list[Page], reason: str, now: datetime
) -> None:
    from alerts.escalation import escalation_step_unanswered

    Page.objects.filter(bundle=bundle, status=Page.Status.BUNDLED).update(
        status=Page.Status.FAILED, finished_at=now, error=reason[:1000]
    )
    for page in pages:
        page.status = Page.Status.FAILED
        escalation_step_unanswered(page=page, now=now)


def bundle_status_update(*, bundle: PageBundle, status: str) -> str:
    if status == "delivered":
        PageBundle.objects.filter(pk=bundle.pk, status=PageBundle.Status.SENT).update(
            status=PageBundle.Status.DELIVERED
        )
        return "delivered"
    if status in ("undelivered", "failed"):
        updated = PageBundle.objects.filter(
            pk=bundle.pk,
            status__in=[PageBundle.Status.SENT, PageBundle.Status.DELIVERED],
        ).update(status=PageBundle.Status.FAILED, error=status)
        if updated:
            pages = list(bundle.pages.select_related("incident", "member__user"))
            _bundle_pages_failed(bundle, pages, f"bundle {status}", timezone.now())
        return "failed"
    return "no change"
