"""Sending pages, and what the provider tells us about them afterwards.

Each page is a row written before anything is sent (by the escalation engine).
:func:`pages_send` claims a batch of them with a conditional update (``queued`` →
``sending``, with a lease), commits the claims, then talks to the transport (the
requests of a batch at once, on ``PAGE_SEND_CONCURRENCY`` threads), then records
the outcomes.  So:

* a duplicated task finds the page no longer ``queued`` and does nothing;
* a worker killed after the claim leaves a ``sending`` page whose lease runs out;
  the sweep puts it back to ``queued`` and it goes out (a page is never lost).
  The one window that cannot be closed without an idempotency key at the
  provider is a kill *after* Twilio accepted the request and *before* our update
  commits; the status callback carries the page id, so a callback arriving first
  records the send and the page is not sent again.  A batch records its outcomes
  as they come back, at least every ``RECORD_EVERY_SECONDS`` and every round of
  requests, so that window holds at most about one round of a batch's pages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.bulk import update_grouped, update_per_row
from alerts.escalation import (
    escalation_pause_for_maintenance,
    escalation_step_unanswered,
)
from alerts.incidents import timeline_add
from alerts.models import ContactMethod, Incident, Page, PageBundle, TimelineEntry
from alerts.selectors import maintenance_active_for
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
    *, member: Member, channel: str, methods: list[ContactMethod] | None = None
) -> list[tuple[ContactMethod | None, str]]:
    """The numbers to try for ``channel``, in order, broken ones left out.

    A member without contact methods is reached on ``Member.phone``.  ``methods``:
    the member's contact methods when the caller read them already (a batch).
    """
    if methods is None:
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
    from alerts.escalation import _enqueue_pages

    _enqueue_pages([page_id])


def _backoff(attempts: int) -> timedelta:
    seconds = settings.PAGE_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.PAGE_RETRY_MAX_SECONDS))


def page_send(*, page_id: int, now: datetime | None = None) -> str:
    """Send one due page, exactly once; say what happened.

    The one-element case of :func:`pages_send`."""
    return pages_send(page_ids=[page_id], now=now)[page_id]


@dataclass
class _Send:
    """A claimed page about to go to the transport, and what came back."""

    page: Page
    method: ContactMethod | None
    number: str
    provider_id: str = ""
    sent_at: datetime | None = None
    error: TransportError | None = None
    crash: BaseException | None = None


def pages_send(
    *, page_ids: Iterable[int], now: datetime | None = None
) -> dict[int, str]:
    """Send many due pages, each exactly once; returns what happened to each.

    Three steps, as for one page:

    1. one transaction claims every page still due (``queued`` -> ``sending``,
       with a lease; on PostgreSQL ``SKIP LOCKED`` leaves a page some other
       transaction holds to it), checks incidents, maintenance windows, storm
       limits and numbers for the whole batch in a few queries, and commits;
    2. the transport calls run concurrently (``PAGE_SEND_CONCURRENCY`` threads:
       a Twilio request takes 100-300 ms), touching no database;
    3. the outcomes are recorded as they come in, a round of requests at a time,
       so a worker killed mid-batch leaves few sends unrecorded (see the module
       docstring for that window).
    """
    now = now or timezone.now()
    ids = sorted(set(page_ids))
    results = dict.fromkeys(ids, "not due")
    if not ids:
        return results
    jobs = _claim(ids, now, results)
    if not jobs:
        return results
    crash = _transport_round(jobs, now, results)
    if crash is not None:
        raise crash
    return results


def _claim(ids: list[int], now: datetime, results: dict[int, str]) -> list[_Send]:
    from alerts.storm import storm_hold_over_limit

    lease = timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS)
    with transaction.atomic():
        # of=self: lock the pages only, not their incidents and members.
        pages = list(
            Page.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, status=Page.Status.QUEUED, due_at__lte=now)
            .select_related("incident__team", "member__user")
            .order_by("pk")
        )
        if not pages:
            return []
        Page.objects.filter(pk__in=[p.pk for p in pages]).update(
            status=Page.Status.SENDING,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
        )
        for page in pages:
            page.status = Page.Status.SENDING
            page.attempts += 1
        closed = [
            p
            for p in pages
            if p.incident.status != Incident.Status.TRIGGERED
            or p.incident.in_maintenance
        ]
        _cancel(closed, now, results, "cancelled")
        pages = [p for p in pages if p not in closed]
        incidents = {p.incident_id: p.incident for p in pages}
        windows = maintenance_active_for(incidents=incidents.values(), at=now)
        for incident_id, window in windows.items():
            escalation_pause_for_maintenance(
                incident=incidents[incident_id], window=window, now=now
            )
        paused = [p for p in pages if p.incident_id in windows]
        _cancel(paused, now, results, "cancelled: maintenance window")
        pages = [p for p in pages if p.incident_id not in windows]
        held = storm_hold_over_limit(pages=pages, now=now)
        for pk in held:
            results[pk] = "held"
        pages = [p for p in pages if p.pk not in held]
        methods: dict[int, list[ContactMethod]] = {}
        for method in ContactMethod.objects.filter(
            member_id__in={p.member_id for p in pages}
        ):
            methods.setdefault(method.member_id, []).append(method)
        jobs: list[_Send] = []
        concurrency = max(settings.PAGE_SEND_CONCURRENCY, 1)
        timeout = timedelta(seconds=settings.TWILIO_TIMEOUT_SECONDS)
        for page in pages:
            numbers = member_numbers(
                member=page.member,
                channel=page.channel,
                methods=methods.get(page.member_id, []),
            )
            if page.contact_index >= len(numbers):
                _page_fail(page, "no working phone number", now)
                results[page.pk] = "failed: no number"
                continue
            method, number = numbers[page.contact_index]
            page.number = number
            # A page waits its turn for a thread: its lease starts when its
            # request can, so a slow provider does not make a waiting page look
            # lost (and sent twice).
            page.claimed_until = now + lease + timeout * (len(jobs) // concurrency)
            jobs.append(_Send(page, method, number))
        if jobs:
            update_grouped(
                Page.objects, [job.page for job in jobs], ["number", "claimed_until"]
            )
    # The claims are committed: a crash from here on leaves 'sending' pages that
    # the sweep sends again once their leases run out.
    return jobs


def _cancel(pages: list[Page], now: datetime, results: dict, why: str) -> None:
    if not pages:
        return
    Page.objects.filter(pk__in=[p.pk for p in pages]).update(
        status=Page.Status.CANCELLED, finished_at=now, claimed_until=None
    )
    for page in pages:
        results[page.pk] = why


def _call(job: _Send, transports: threading.local) -> _Send:
    """One provider request (in a pool thread: no database here)."""
    page = job.page
    try:
        transport = getattr(transports, "transport", None)
        if transport is None:
            transport = transports.transport = get_transport()
        if page.channel == Page.Channel.SMS:
            job.provider_id = transport.send_sms(
                to=job.number,
                body=page_sms_body(page.incident),
                status_callback=status_callback_url(page=page),
            )
        else:
            job.provider_id = transport.place_call(
                to=job.number,
                url=voice_url(page),
                status_callback=status_callback_url(page=page),
                machine_detection=True,
            )
        job.sent_at = timezone.now()
    except TransportError as error:
        job.error = error
    except Exception as exc:  # recorded after the others; the lease resends it
        job.crash = exc
    return job


def _transport_round(
    jobs: list[_Send], now: datetime, results: dict[int, str]
) -> BaseException | None:
    """Run the provider requests, recording outcomes a round at a time; returns
    the first unexpected exception (its page stays ``sending`` for the sweep)."""
    transports = threading.local()
    concurrency = min(max(settings.PAGE_SEND_CONCURRENCY, 1), len(jobs))
    if concurrency == 1:
        crash = None
        for job in jobs:
            _record([_call(job, transports)], now, results)
            crash = crash or job.crash
        return crash
    crash: BaseException | None = None
    with ThreadPoolExecutor(
        max_workers=concurrency, thread_name_prefix="page-send"
    ) as pool:
        pending = {pool.submit(_call, job, transports) for job in jobs}
        finished: list[_Send] = []
        first_at = 0.0
        while pending:
            wait_for = RECORD_EVERY_SECONDS
            if finished:
                wait_for = max(first_at + RECORD_EVERY_SECONDS - time.monotonic(), 0)
            done, pending = wait(pending, timeout=wait_for, return_when=FIRST_COMPLETED)
            if done and not finished:
                first_at = time.monotonic()
            finished += [future.result() for future in done]
            if finished and (
                len(finished) >= concurrency
                or not pending
                or time.monotonic() - first_at >= RECORD_EVERY_SECONDS
            ):
                _record(finished, now, results)
                crash = crash or next((j.crash for j in finished if j.crash), None)
                finished = []
    return crash


# While requests are still out, what came back is recorded at least this often.
RECORD_EVERY_SECONDS = 0.5


def _record(jobs: list[_Send], now: datetime, results: dict[int, str]) -> None:
    """Record the outcome of finished requests: sends in bulk, failures one by
    one (each decides its retry or fallback)."""
    sent = [job for job in jobs if job.error is None and job.crash is None]
    for job in jobs:
        if job.crash is not None:
            logger.error(
                "page %s: sending failed unexpectedly; the sweep sends it again",
                job.page.pk,
                exc_info=job.crash,
            )
            results[job.page.pk] = f"error: {type(job.crash).__name__}"
    with transaction.atomic():
        if sent:
            for job in sent:
                page = job.page
                page.status = Page.Status.SENT
                page.provider_id = job.provider_id
                page.sent_at = job.sent_at
                page.claimed_until = None
                page.error = ""
            pages = [job.page for job in sent]
            updated = update_per_row(
                Page.objects.filter(status=Page.Status.SENDING),
                pages,
                varying=["provider_id", "sent_at"],
                same={"status": Page.Status.SENT, "claimed_until": None, "error": ""},
            )
            if updated < len(pages):
                # A status callback got here first for some and already recorded
                # the send (status and its provider id): fill in only what is
                # missing.
                update_per_row(
                    Page.objects.filter(provider_id=""),
                    pages,
                    varying=["provider_id", "sent_at"],
                    same={},
                )
            TimelineEntry.objects.bulk_create(
                TimelineEntry(
                    incident=job.page.incident,
                    kind=TimelineEntry.Kind.PAGE,
                    text=f"{CHANNEL_WORD[job.page.channel]} to "
                    f"{job.page.member.display_name} ({job.number}) sent"
                    + (
                        f" after {job.page.attempts} attempts"
                        if job.page.attempts > 1
                        else ""
                    ),
                    at=job.sent_at,
                    actor=job.page.member,
                )
                for job in sent
            )
        for job in jobs:
            if job.error is not None:
                results[job.page.pk] = _send_failed(
                    job.page, job.method, job.number, job.error, now
                )
    for job in sent:
        results[job.page.pk] = "sent"
        logger.info(
            "page %s: %s to %s for incident #%s sent (%s)",
            job.page.pk,
            CHANNEL_WORD[job.page.channel],
            job.page.member.username,
            job.page.incident_id,
            job.provider_id,
        )


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


def pages_due_in(
    *, page_ids: Iterable[int], now: datetime | None = None
) -> dict[int, float]:
    """Seconds until each queued page is due (absent: not queued)."""
    now = now or timezone.now()
    return {
        pk: (due - now).total_seconds()
        for pk, due in Page.objects.filter(
            pk__in=list(page_ids), status=Page.Status.QUEUED
        ).values_list("pk", "due_at")
    }


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
