"""Bundles: the pages held by storm protection go out together, at most one bundle
per member and channel every ``STORM_BUNDLE_SECONDS``.

* Held SMS become one SMS ("oncall: 2 new incidents: #41 HighErrorRate, #42 ...;
  1 repeat: #7 ... - reply ACK ALL").  An incident the member was already paged
  for (a repeat round, a later step) is a *repeat*, never "new".
* Held calls (only high urgency ever calls) become one call: a storm is exactly
  when a call matters, so bundling may merge SMS but never silences a call.  The
  call says how many incidents there are and which; 1 acknowledges all of them
  (the call's words and keys: ``webhooks/twilio.py``, the actions:
  ``replies.py``).  No key pressed, busy or no answer fails the bundle's pages,
  and their escalations fall through to the next step at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.escalation.engine import escalation_step_unanswered
from alerts.leases import claim_with_lease
from alerts.models import Incident, Page, PageBundle, TimelineEntry
from alerts.paging.callback_urls import bundle_voice_url, status_callback_url
from alerts.paging.messages import bundle_sms_body
from alerts.selectors import member_numbers
from alerts.timeline import timeline_add
from alerts.transports import TransportError, get_transport

logger = logging.getLogger(__name__)


def bundles_gather_and_claim(*, now: datetime, limit: int) -> list[int]:
    """For the sweep: bundle held pages, and list bundles to (re)send."""
    interval = timedelta(seconds=settings.STORM_BUNDLE_SECONDS)
    with transaction.atomic():
        PageBundle.objects.filter(
            status=PageBundle.Status.SENDING, claimed_until__lte=now
        ).update(status=PageBundle.Status.QUEUED, claimed_until=None)
        # Held pages of incidents closed meanwhile are not worth a message.
        Page.objects.filter(status=Page.Status.HELD).exclude(
            incident__status=Incident.Status.TRIGGERED
        ).update(status=Page.Status.CANCELLED, finished_at=now)
        waiting = set(
            Page.objects.filter(status=Page.Status.HELD).values_list(
                "member_id", "channel"
            )
        )
        for member_id, channel in sorted(waiting):
            recent = PageBundle.objects.filter(
                member_id=member_id, channel=channel, created_at__gt=now - interval
            ).exclude(status=PageBundle.Status.CANCELLED)
            if recent.exists():
                continue
            bundle = PageBundle.objects.create(
                member_id=member_id, channel=channel, created_at=now
            )
            Page.objects.filter(
                member_id=member_id, channel=channel, status=Page.Status.HELD
            ).update(status=Page.Status.BUNDLED, bundle=bundle)
        claimed = claim_with_lease(
            PageBundle.objects.all(),
            ready=Q(status=PageBundle.Status.QUEUED),
            lease_field="claimed_until",
            order_by="created_at",
            now=now,
            lease=timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS),
            limit=limit,
        )
    return [pk for pk, _ in claimed]


def bundle_repeats(*, bundle: PageBundle, incident_ids: list[int]) -> set[int]:
    """Those of ``incident_ids`` the bundle's member was already paged for before
    this bundle (sent directly or in an earlier bundle): repeats, not new."""
    return set(
        Page.objects.filter(
            incident_id__in=incident_ids,
            member_id=bundle.member_id,
            sent_at__isnull=False,
        )
        .exclude(bundle=bundle)
        .values_list("incident_id", flat=True)
    )


def bundle_incidents(*, bundle: PageBundle) -> list[Incident]:
    """The bundle's incidents still open, in number order."""
    return list(
        Incident.objects.filter(pages__bundle=bundle, status=Incident.Status.TRIGGERED)
        .distinct()
        .select_related("team")
        .order_by("pk")
    )


def bundle_send(*, bundle_id: int, now: datetime | None = None) -> str:
    """Send one bundle (an SMS or a call), claimed first so it goes out once."""
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
        numbers = member_numbers(member=bundle.member, channel=bundle.channel)
        if not incidents or not numbers:
            PageBundle.objects.filter(pk=bundle_id).update(
                status=PageBundle.Status.CANCELLED
                if not incidents
                else PageBundle.Status.FAILED,
                claimed_until=None,
                error="" if not incidents else "no working phone number",
            )
            return "nothing to send" if not incidents else "failed: no number"
        repeats = bundle_repeats(bundle=bundle, incident_ids=[i.pk for i in incidents])
        body = bundle_sms_body(incidents, repeats=repeats)
        number = numbers[0][1]
        PageBundle.objects.filter(pk=bundle_id).update(body=body, number=number)
    word = "SMS" if bundle.channel == PageBundle.Channel.SMS else "call"
    try:
        if bundle.channel == PageBundle.Channel.VOICE:
            provider_id = get_transport().place_call(
                to=number,
                url=bundle_voice_url(bundle),
                status_callback=status_callback_url(bundle=bundle),
                machine_detection=True,
            )
        else:
            provider_id = get_transport().send_sms(
                to=number,
                body=body,
                status_callback=status_callback_url(bundle=bundle),
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
                text=f"bundle {word} to {bundle.member.display_name} ({number}) "
                f"sent, with {len(incidents)} incident(s)"
                + (" (a repeat for this one)" if incident.pk in repeats else ""),
                at=sent_at,
                actor=bundle.member,
            )
    logger.info(
        "bundle %s: %s to %s for %d incidents sent",
        bundle_id,
        word,
        bundle.member.username,
        len(incidents),
    )
    return "sent"


def _bundle_pages_failed(
    bundle: PageBundle, pages: list[Page], reason: str, now: datetime
) -> None:
    Page.objects.filter(bundle=bundle, status=Page.Status.BUNDLED).update(
        status=Page.Status.FAILED, finished_at=now, error=reason[:1000]
    )
    for page in pages:
        page.status = Page.Status.FAILED
        escalation_step_unanswered(page=page, now=now)


# Call statuses that mean nobody acted on a bundle call ("completed" after a
# keypress finds the bundle answered already, and changes nothing).
CALL_UNANSWERED = ("busy", "no-answer", "canceled", "completed")


def bundle_status_update(*, bundle: PageBundle, status: str) -> str:
    """A delivery status callback for a bundle SMS or call."""
    if status in ("delivered", "in-progress"):
        PageBundle.objects.filter(pk=bundle.pk, status=PageBundle.Status.SENT).update(
            status=PageBundle.Status.DELIVERED
        )
        return "delivered"
    unanswered = bundle.channel == PageBundle.Channel.VOICE and status in (
        CALL_UNANSWERED
    )
    if status in ("undelivered", "failed") or unanswered:
        updated = PageBundle.objects.filter(
            pk=bundle.pk,
            status__in=[PageBundle.Status.SENT, PageBundle.Status.DELIVERED],
        ).update(status=PageBundle.Status.FAILED, error=status)
        if updated:
            pages = list(bundle.pages.select_related("incident", "member__user"))
            _bundle_pages_failed(bundle, pages, f"bundle {status}", timezone.now())
        return "failed"
    return "no change"


def bundle_mark_answered(*, bundle: PageBundle, now: datetime | None = None) -> None:
    """Somebody acted on the bundle (a key pressed on its call)."""
    now = now or timezone.now()
    PageBundle.objects.filter(
        pk=bundle.pk,
        status__in=[
            PageBundle.Status.SENDING,
            PageBundle.Status.SENT,
            PageBundle.Status.DELIVERED,
        ],
    ).update(status=PageBundle.Status.ANSWERED, claimed_until=None)
    Page.objects.filter(bundle=bundle, status=Page.Status.BUNDLED).update(
        status=Page.Status.ANSWERED, finished_at=now
    )
