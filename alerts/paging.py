"""Sending pages, and what the provider tells us about them afterwards.

Each page is a row written before anything is sent (by the escalation engine).
:func:`page_send` claims it with a conditional update (``queued`` → ``sending``,
with a lease), commits the claim, then talks to the transport, then records the
outcome.  So:

* a duplicated task finds the page no longer ``queued`` and does nothing;
* a worker killed after the claim leaves a ``sending`` page whose lease runs out;
  the sweep puts it back to ``queued`` and it goes out (a page is never lost).
  The one window that cannot be closed without an idempotency key at the
  provider is a kill *after* Twilio accepted the request and *before* our update
  commits; the status callback carries the page id, so a callback arriving first
  records the send and the page is not sent again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.escalation import (
    escalation_pause_for_maintenance,
    escalation_step_unanswered,
)
from alerts.incidents import timeline_add
from alerts.models import ContactMethod, Incident, Page, PageBundle, TimelineEntry
from alerts.sms_text import fit
from alerts.transports import TransportError, get_transport
from scheduling.models import Member

logger = logging.getLogger(__name__)

CHANNEL_WORD = {"sms": "SMS", "voice": "call"}
SEVERITY_TAGS = {
    "critical": "CRIT",
    "page": "CRIT",
    "error": "ERR",
    "warning": "WARN",
    "info": "INFO",
}


# --- what a page says -----------------------------------------------------------


def incident_severity(incident: Incident) -> str:
    labels = incident.common_labels or incident.group_labels or {}
    severity = str(labels.get("severity", "")).lower()
    if severity in SEVERITY_TAGS:
        return SEVERITY_TAGS[severity]
    if severity:
        return severity[:4].upper()
    return "HIGH" if incident.urgency == Incident.Urgency.HIGH else "LOW"


def incident_alertname(incident: Incident) -> str:
    for labels in (incident.common_labels, incident.group_labels):
        if labels and labels.get("alertname"):
            return str(labels["alertname"])
    return incident.title.split(":", 1)[0]


def incident_summary(incident: Incident) -> str:
    annotations = incident.common_annotations or {}
    return str(annotations.get("summary") or annotations.get("description") or "")


def page_sms_body(incident: Incident) -> str:
    """'oncall #42 [CRIT] HighErrorRate payments: <summary> - reply ACK 42, ...',
    in one GSM-7 segment: the summary is cut, never the way to answer."""
    number = incident.pk
    head = (
        f"oncall #{number} [{incident_severity(incident)}] "
        f"{incident_alertname(incident)} {incident.team.slug}"
    )
    summary = incident_summary(incident)
    if summary:
        head += f": {summary}"
    return fit(head, f" - reply ACK {number}, RES {number}, ESC {number}")


def page_voice_text(incident: Incident) -> str:
    severity = {
        "CRIT": "critical",
        "ERR": "error",
        "WARN": "warning",
        "HIGH": "high urgency",
        "LOW": "low urgency",
    }.get(incident_severity(incident), incident_severity(incident).lower())
    text = (
        f"This is on call. Incident {incident.pk}, {severity}: "
        f"{incident_alertname(incident)}, for team {incident.team.name}."
    )
    summary = incident_summary(incident)
    if summary:
        text += f" {summary}."
    return text


def status_callback_url(*, page: Page | None = None, bundle: PageBundle | None = None):
    base = f"{settings.PUBLIC_BASE_URL}/twilio/status/"
    if page is not None:
        return f"{base}?page={page.pk}"
    if bundle is not None:
        return f"{base}?bundle={bundle.pk}"
    return base


def voice_url(page: Page) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/{page.pk}/"


# --- numbers ---------------------------------------------------------------------


def member_numbers(
    *, member: Member, channel: str
) -> list[tuple[ContactMethod | None, str]]:
    """The numbers to try for ``channel``, in order, broken ones left out.

    A member without contact methods is reached on ``Member.phone``.
    """
    methods = list(member.contact_methods.all())
    if not methods:
        return [(None, member.phone)] if member.phone else []
    return [
        (method, method.phone)
        for method in methods
        if method.broken_at is None and getattr(method, channel)
    ]


def contact_mark_broken(
    *, member: Member, method: ContactMethod | None, phone: str, reason: str, at
) -> ContactMethod:
    """The provider says this number cannot be reached: skip it from now on."""
    if method is None:
        method, _ = ContactMethod.objects.get_or_create(
            member=member, phone=phone, defaults={"label": "profile phone"}
        )
    ContactMethod.objects.filter(pk=method.pk).update(
        broken_at=at, broken_reason=reason[:1000]
    )
    method.broken_at, method.broken_reason = at, reason
    return method


# --- sending ------------------------------------------------------------------------


def _enqueue_send(page_id: int) -> None:
    from alerts.tasks import page_send_task
    from oncall.celery import enqueue_on_commit

    enqueue_on_commit(page_send_task, page_id)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.PAGE_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.PAGE_RETRY_MAX_SECONDS))


def page_send(*, page_id: int, now: datetime | None = None) -> str:
    """Send one due page, exactly once; say what happened."""
    from alerts.storm import storm_hold_if_over_limit

    now = now or timezone.now()
    lease = timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS)
    with transaction.atomic():
        claimed = Page.objects.filter(
            pk=page_id, status=Page.Status.QUEUED, due_at__lte=now
        ).update(
            status=Page.Status.SENDING,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return "not due"
        page = Page.objects.select_related("incident__team", "member__user").get(
            pk=page_id
        )
        incident = page.incident
        if incident.status != Incident.Status.TRIGGERED or incident.in_maintenance:
            Page.objects.filter(pk=page_id).update(
                status=Page.Status.CANCELLED, finished_at=now, claimed_until=None
            )
            return "cancelled"
        if escalation_pause_for_maintenance(incident, now):
            Page.objects.filter(pk=page_id).update(
                status=Page.Status.CANCELLED, finished_at=now, claimed_until=None
            )
            return "cancelled: maintenance window"
        if storm_hold_if_over_limit(page=page, now=now):
            return "held"
        numbers = member_numbers(member=page.member, channel=page.channel)
        if page.contact_index >= len(numbers):
            _page_fail(page, "no working phone number", now)
            return "failed: no number"
        method, number = numbers[page.contact_index]
        page.number = number
        Page.objects.filter(pk=page_id).update(number=number)
    # The claim is committed: a crash from here on leaves a 'sending' page that the
    # sweep sends again once its lease runs out.
    word = CHANNEL_WORD[page.channel]
    try:
        transport = get_transport()
        if page.channel == Page.Channel.SMS:
            provider_id = transport.send_sms(
                to=number,
                body=page_sms_body(incident),
                status_callback=status_callback_url(page=page),
            )
        else:
            provider_id = transport.place_call(
                to=number,
                url=voice_url(page),
                status_callback=status_callback_url(page=page),
                machine_detection=True,
            )
    except TransportError as error:
        return _send_failed(page, method, number, error, now)
    sent_at = timezone.now()
    with transaction.atomic():
        updated = Page.objects.filter(pk=page_id, status=Page.Status.SENDING).update(
            status=Page.Status.SENT,
            provider_id=provider_id,
            sent_at=sent_at,
            claimed_until=None,
            error="",
        )
        if not updated:
            # A status callback got here first and already recorded the send.
            Page.objects.filter(pk=page_id, provider_id="").update(
                provider_id=provider_id, sent_at=sent_at
            )
        timeline_add(
            incident=incident,
            kind=TimelineEntry.Kind.PAGE,
            text=f"{word} to {page.member.display_name} ({number}) sent"
            + (f" after {page.attempts} attempts" if page.attempts > 1 else ""),
            at=sent_at,
            actor=page.member,
        )
    logger.info(
        "page %s: %s to %s for incident #%s sent (%s)",
        page_id,
        word,
        page.member.username,
        incident.pk,
        provider_id,
    )
    return "sent"


def _send_failed(
    page: Page,
    method: ContactMethod | None,
    number: str,
    error: TransportError,
    now: datetime,
) -> str:
    word = CHANNEL_WORD[page.channel]
    with transaction.atomic():
        next_index = page.contact_index
        retry_at: datetime | None = None
        if error.contact_broken:
            contact_mark_broken(
                member=page.member,
                method=method,
                phone=number,
                reason=str(error),
                at=now,
            )
            timeline_add(
                incident=page.incident,
                kind=TimelineEntry.Kind.PAGE,
                text=f"{number} of {page.member.display_name} marked broken: {error}",
                at=now,
            )
            # The broken number drops out of the list: the same index is the next.
            retry_at = now
            attempts = 0
        elif error.permanent:
            next_index += 1
            retry_at = now
            attempts = 0
        elif page.attempts < settings.PAGE_MAX_ATTEMPTS:
            retry_at = now + _backoff(page.attempts)
            attempts = page.attempts
        else:
            next_index += 1
            retry_at = now
            attempts = 0
        remaining = len(member_numbers(member=page.member, channel=page.channel))
        if next_index >= remaining:
            page.error = str(error)
            _page_fail(page, str(error), now)
            return f"failed: {error}"
        Page.objects.filter(pk=page.pk, status=Page.Status.SENDING).update(
            status=Page.Status.QUEUED,
            due_at=retry_at,
            claimed_until=None,
            contact_index=next_index,
            attempts=attempts,
            error=str(error)[:1000],
        )
        timeline_add(
            incident=page.incident,
            kind=TimelineEntry.Kind.PAGE,
            text=f"{word} to {page.member.display_name} ({number}) failed: {error}; "
            + (
                "trying again"
                if next_index == page.contact_index and not error.contact_broken
                else "trying the next number"
            ),
            at=now,
        )
        if retry_at <= now:
            _enqueue_send(page.pk)
    return f"retry: {error}"


def _page_fail(page: Page, reason: str, now: datetime) -> None:
    """The page cannot reach the member: fail it and fall through at once."""
    Page.objects.filter(pk=page.pk).update(
        status=Page.Status.FAILED,
        finished_at=now,
        claimed_until=None,
        error=reason[:1000],
    )
    page.status = Page.Status.FAILED
    timeline_add(
        incident=page.incident,
        kind=TimelineEntry.Kind.PAGE,
        text=f"{CHANNEL_WORD[page.channel]} to {page.member.display_name} failed: "
        f"{reason}",
        at=now,
    )
    escalation_step_unanswered(page=page, now=now)


def pages_due(*, now: datetime, limit: int) -> list[int]:
    """Ids of pages due at ``now``, claimed for enqueueing."""
    return [pk for pk, _ in pages_claim(now=now, limit=limit)]


def pages_claim(
    *, now: datetime, limit: int, ahead: timedelta = timedelta(0)
) -> list[tuple[int, datetime]]:
    """For the sweep: pages due by ``now + ahead`` to (re)enqueue, as (id, due at),
    each leased so the next sweeps skip it.

    A ``sending`` page whose lease ran out belonged to a worker that died between
    claim and send: it goes back to ``queued``.
    """
    lease = timedelta(seconds=settings.ESCALATION_ENQUEUE_LEASE_SECONDS)
    with transaction.atomic():
        Page.objects.filter(status=Page.Status.SENDING, claimed_until__lte=now).update(
            status=Page.Status.QUEUED,
            claimed_until=None,
            error="the worker sending it was lost; sending again",
        )
        due = Q(status=Page.Status.QUEUED, due_at__lte=now + ahead) & (
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )
        rows = list(
            Page.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("due_at")
            .values_list("pk", "due_at")[:limit]
        )
        if rows:
            claimed = Page.objects.filter(due, pk__in=[pk for pk, _ in rows])
            claimed.filter(due_at__lte=now).update(claimed_until=now + lease)
            claimed.filter(due_at__gt=now).update(claimed_until=F("due_at") + lease)
    return rows


def page_due_in(*, page_id: int, now: datetime | None = None):
    """Seconds until a queued page is due (None if it is not queued)."""
    now = now or timezone.now()
    due = (
        Page.objects.filter(pk=page_id, status=Page.Status.QUEUED)
        .values_list("due_at", flat=True)
        .first()
    )
    return None if due is None else (due - now).total_seconds()


# --- what Twilio tells us afterwards ----------------------------------------------

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
    word = CHANNEL_WORD[page.channel]
    who = page.member.display_name
    with transaction.atomic():
        page = Page.objects.select_for_update().get(pk=page.pk)
        if page.provider_id and provider_id and page.provider_id != provider_id:
            return "another send's callback"
        if not page.provider_id and provider_id:
            # The worker died after the provider accepted it: this callback is the
            # only record of the send, and keeps the sweep from sending it again.
            Page.objects.filter(pk=page.pk).update(
                provider_id=provider_id,
                sent_at=page.sent_at or now,
                claimed_until=None,
            )
            if page.status == Page.Status.SENDING:
                Page.objects.filter(pk=page.pk).update(status=Page.Status.SENT)
                page.status = Page.Status.SENT
        live = (Page.Status.SENDING, Page.Status.SENT, Page.Status.DELIVERED)
        if page.status not in live:
            return f"page already {page.status}"
        progress = SMS_PROGRESS if page.channel == Page.Channel.SMS else CALL_PROGRESS
        failed_reason = ""
        if page.channel == Page.Channel.SMS and status in ("undelivered", "failed"):
            failed_reason = f"{status}" + (
                f" (error {error_code})" if error_code else ""
            )
        elif page.channel == Page.Channel.VOICE:
            if status in CALL_UNANSWERED:
                failed_reason = CALL_UNANSWERED[status]
            elif status == "failed":
                failed_reason = "call failed" + (
                    f" (error {error_code})" if error_code else ""
                )
            elif status == "completed":
                failed_reason = "call ended without a key pressed"
            elif answered_by.startswith(("machine", "fax")):
                failed_reason = f"answered by {answered_by.replace('_', ' ')}"
        if failed_reason:
            new_status = (
                Page.Status.FAILED
                if status in ("failed", "undelivered")
                else Page.Status.UNANSWERED
            )
            Page.objects.filter(pk=page.pk).update(
                status=new_status,
                finished_at=now,
                claimed_until=None,
                error=failed_reason[:1000],
            )
            timeline_add(
                incident=page.incident,
                kind=TimelineEntry.Kind.PAGE_STATUS,
                text=f"{word} to {who}: {failed_reason}",
                at=now,
            )
            page.status = new_status
            if page.incident.status == Incident.Status.TRIGGERED:
                escalation_step_unanswered(page=page, now=now)
            return new_status
        rank = progress.get(status)
        current = {
            Page.Status.SENDING: 0,
            Page.Status.SENT: 1,
            Page.Status.DELIVERED: 2,
        }[page.status]
        if rank is None or rank <= current:
            return "no change"
        new_status = Page.Status.DELIVERED if rank == 2 else Page.Status.SENT
        Page.objects.filter(pk=page.pk).update(
            status=new_status,
            delivered_at=now if new_status == Page.Status.DELIVERED else None,
        )
        if new_status == Page.Status.DELIVERED:
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
