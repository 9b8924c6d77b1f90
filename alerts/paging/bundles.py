"""Bundles: the pages held by storm protection go out together, at most one bundle
SMS per ``STORM_BUNDLE_SECONDS`` ("5 new incidents: #41 HighErrorRate, #42 ... -
reply ACK ALL").
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
from alerts.paging.callback_urls import status_callback_url
from alerts.paging.messages import bundle_sms_body
from alerts.paging.numbers import member_numbers
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


def bundle_send(*, bundle_id: int, now: datetime | None = None) -> str:

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
