"""Sending pages: claim, talk to the transport, record the outcome.

Each page is a row written before anything is sent (by the escalation engine).
:func:`pages_send` claims a batch of them with a conditional update (``queued`` ->
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
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts import queue
from alerts.bulk_update import update_grouped, update_per_row
from alerts.escalation.engine import (
    escalation_pause_for_maintenance,
    escalation_step_unanswered,
)
from alerts.models import ContactMethod, Incident, Page, TimelineEntry
from alerts.paging.callback_urls import status_callback_url, voice_url
from alerts.paging.limits import storm_hold_over_limit
from alerts.paging.messages import CHANNEL_WORD, page_sms_body
from alerts.paging.numbers import contact_mark_broken
from alerts.selectors import maintenance_active_for, member_numbers
from alerts.timeline import timeline_add
from alerts.transports import TransportError, get_transport
from scheduling.models import NO_PHONE, Member

logger = logging.getLogger(__name__)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.PAGE_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.PAGE_RETRY_MAX_SECONDS))


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
    *,
    page_ids: Iterable[int],
    now: datetime | None = None,
    incidents: Mapping[int, Incident] | None = None,
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

    ``incidents``: the pages' incidents as the caller read them a moment ago (the
    escalation task, which has just fired their steps).  Their rows are not built
    again, which was a fifth of a burst's first pages; the claim still reads each
    one's status and maintenance flag afresh, so the checks are the same.
    """
    now = now or timezone.now()
    ids = sorted(set(page_ids))
    results = dict.fromkeys(ids, "not due")
    if not ids:
        return results
    jobs = _claim(ids, now, results, incidents)
    if not jobs:
        return results
    crash = _transport_round(jobs, now, results)
    if crash is not None:
        raise crash
    return results


def _claim(
    ids: list[int],
    now: datetime,
    results: dict[int, str],
    known: Mapping[int, Incident] | None = None,
) -> list[_Send]:
    lease = timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS)
    with transaction.atomic():
        pages = _lock_due(ids, now, known or {})
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
        # The engine never writes a call for a low-urgency incident; this keeps
        # it so whatever wrote the page (see escalation/policies.py).
        waking = [
            p
            for p in pages
            if p.channel == Page.Channel.VOICE
            and p.incident.urgency == Incident.Urgency.LOW
        ]
        _cancel(waking, now, results, "cancelled: low urgency never calls")
        pages = [p for p in pages if p not in waking]
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
        for contact in ContactMethod.objects.filter(
            member_id__in={p.member_id for p in pages}
        ):
            methods.setdefault(contact.member_id, []).append(contact)
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
                # Imported people may have no number at all (Member.phone blank).
                reachable = page.member.phone or methods.get(page.member_id)
                reason = "no working phone number" if reachable else NO_PHONE
                _page_fail(page, reason, now)
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


def _lock_due(
    ids: list[int], now: datetime, known: Mapping[int, Incident]
) -> list[Page]:
    """Lock the pages still due, with their incidents and members.

    On PostgreSQL ``SKIP LOCKED`` leaves a page some other transaction holds to it;
    of=self: lock the pages only, not their incidents and members.
    """
    due = Page.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        pk__in=ids, status=Page.Status.QUEUED, due_at__lte=now
    )
    if not known:
        return list(due.select_related("incident__team", "member__user").order_by("pk"))
    pages = list(due.order_by("pk"))
    # The caller's incident objects, their state read again here (in the claim's
    # transaction, as the join above reads it); members are few, read afresh.
    state = {
        pk: (status, paused)
        for pk, status, paused in Incident.objects.filter(
            pk__in={p.incident_id for p in pages}
        ).values_list("pk", "status", "in_maintenance")
    }
    members = Member.objects.select_related("user").in_bulk(
        {p.member_id for p in pages}
    )
    unknown = {p.incident_id for p in pages} - known.keys()
    loaded = dict(known) | Incident.objects.select_related("team").in_bulk(unknown)
    for page in pages:
        incident = loaded[page.incident_id]
        incident.status, incident.in_maintenance = state[page.incident_id]
        page.incident = incident
        page.member = members[page.member_id]
    return pages


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
    crash: BaseException | None = None
    if concurrency == 1:
        for job in jobs:
            sends_record([_call(job, transports)], now, results)
            crash = crash or job.crash
        return crash
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
                sends_record(finished, now, results)
                crash = crash or next((j.crash for j in finished if j.crash), None)
                finished = []
    return crash


# While requests are still out, what came back is recorded at least this often.
RECORD_EVERY_SECONDS = 0.5


def sends_record(jobs: list[_Send], now: datetime, results: dict[int, str]) -> None:
    """Record the outcome of finished requests: sends in bulk, failures one by
    one (each decides its retry or fallback).

    Public as the moment between the provider answering and the outcome being
    written, where its status callback may already arrive: tests make it arrive
    here.
    """
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
                    at=job.sent_at or now,  # set by _call for every page sent
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
            queue.publish_ids_on_commit(queue.PAGE_SEND, [page.pk])
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
