"""What Twilio tells us about a page afterwards: delivery status callbacks."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts.escalation.engine import escalation_step_unanswered
from alerts.models import Incident, Page, TimelineEntry
from alerts.paging.messages import CHANNEL_WORD
from alerts.timeline import timeline_add

SMS_PROGRESS = {"accepted": 0, "queued": 0, "sending": 1, "sent": 1, "delivered": 2}


CALL_PROGRESS = {"queued": 0, "initiated": 1, "ringing": 1, "in-progress": 2}


CALL_UNANSWERED = {"busy": "busy", "no-answer": "no answer", "canceled": "canceled"}


def page_status_update(
    *,
    page: Page,
    provider_id: str,
    status: str,
    error_code: str = "",
    answered_by: str = "",
    now: datetime | None = None,
) -> str:
    """Apply one delivery status callback to a page; returns what changed.

    Callbacks can arrive late or out of order: a status never moves a page
    backwards, and a page already finished stays finished.
    """
    now = now or timezone.now()
    with transaction.atomic():
        page = Page.objects.select_for_update().get(pk=page.pk)
        if page.provider_id and provider_id and page.provider_id != provider_id:
            return "another send's callback"
        if not page.provider_id and provider_id:
            _record_send_from_callback(page, provider_id, now)
        live = (Page.Status.SENDING, Page.Status.SENT, Page.Status.DELIVERED)
        if page.status not in live:
            return f"page already {page.status}"
        reason = _failure(page.channel, status, error_code, answered_by)
        if reason:
            return _page_failed(page, status, reason, now)
        return _page_progressed(page, status, now)


def _record_send_from_callback(page: Page, provider_id: str, now: datetime) -> None:
    """The worker died after the provider accepted the page: this callback is the
    only record of the send, and keeps the sweep from sending it again."""
    Page.objects.filter(pk=page.pk).update(
        provider_id=provider_id,
        sent_at=page.sent_at or now,
        claimed_until=None,
    )
    if page.status == Page.Status.SENDING:
        Page.objects.filter(pk=page.pk).update(status=Page.Status.SENT)
        page.status = Page.Status.SENT


def _failure(channel: str, status: str, error_code: str, answered_by: str) -> str:
    """Why the callback's status means the page did not reach a person ("" if it
    does not)."""
    error = f" (error {error_code})" if error_code else ""
    if channel == Page.Channel.SMS:
        return f"{status}{error}" if status in ("undelivered", "failed") else ""
    if status in CALL_UNANSWERED:
        return CALL_UNANSWERED[status]
    if status == "failed":
        return f"call failed{error}"
    if status == "completed":
        return "call ended without a key pressed"
    if answered_by.startswith(("machine", "fax")):
        return f"answered by {answered_by.replace('_', ' ')}"
    return ""


def _page_failed(page: Page, status: str, reason: str, now: datetime) -> str:
    """Fail (or mark unanswered) the page, and fall through to the next channel or
    step while the incident is still triggered."""
    new_status = (
        Page.Status.FAILED
        if status in ("failed", "undelivered")
        else Page.Status.UNANSWERED
    )
    Page.objects.filter(pk=page.pk).update(
        status=new_status,
        finished_at=now,
        claimed_until=None,
        error=reason[:1000],
    )
    timeline_add(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE_STATUS,
        text=f"{CHANNEL_WORD[page.channel]} to {page.member.display_name}: {reason}",
        at=now,
    )
    page.status = new_status
    if page.incident.status == Incident.Status.TRIGGERED:
        escalation_step_unanswered(page=page, now=now)
    return new_status


def _page_progressed(page: Page, status: str, now: datetime) -> str:
    """Move the page forward (sent, delivered), never backwards."""
    progress = SMS_PROGRESS if page.channel == Page.Channel.SMS else CALL_PROGRESS
    rank = progress.get(status)
    ranks: dict[str, int] = {
        Page.Status.SENDING: 0,
        Page.Status.SENT: 1,
        Page.Status.DELIVERED: 2,
    }
    current = ranks[page.status]
    if rank is None or rank <= current:
        return "no change"
    new_status = Page.Status.DELIVERED if rank == 2 else Page.Status.SENT
    Page.objects.filter(pk=page.pk).update(
        status=new_status,
        delivered_at=now if new_status == Page.Status.DELIVERED else None,
    )
    if new_status == Page.Status.DELIVERED:
        who = page.member.display_name
        text = (
            f"SMS to {who} delivered"
            if page.channel == Page.Channel.SMS
            else f"call to {who} answered"
        )
        timeline_add(
            incident=page.incident,
            kind=TimelineEntry.Kind.PAGE_STATUS,
            text=text,
            at=now,
        )
    return new_status


def page_mark_answered(*, page: Page, now: datetime | None = None) -> None:
    """The person acted on this page (a key pressed, a reply)."""
    Page.objects.filter(
        pk=page.pk,
        status__in=[Page.Status.SENDING, Page.Status.SENT, Page.Status.DELIVERED],
    ).update(status=Page.Status.ANSWERED, finished_at=now or timezone.now())
