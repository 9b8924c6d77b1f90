"""Telling engineers about notes: SMS through the paging transport, and email
through Django's email backend when the member's user has an address.

Each notification is claimed first with a conditional update of its timestamp
(``...filter(notified_at=None).update(notified_at=now)`` must return 1), so a
duplicated task or a sweep running beside it sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse

from alerts.handoff.links import link_create
from alerts.models import HandoffNote
from alerts.selectors import member_sms_number
from alerts.transports import TransportError, get_transport
from scheduling.models import Member
from scheduling.selectors import oncall_at

logger = logging.getLogger(__name__)


def _send(
    member: Member,
    *,
    subject: str,
    text: Callable[[str], str],
    note: HandoffNote,
    link: bool = True,
) -> None:
    """One SMS and, if the member has an address, one email, each with its own
    single-use link to ``note`` (``text(url)``), so opening one leaves the other
    working.  A failure is logged (never the text: it holds a link) and does not
    stop the other."""

    def url() -> str:
        return link_create(note=note, member=member) if link else note_page_url(note)

    try:
        number = member_sms_number(member)
        if number:
            get_transport().send_sms(to=number, body=text(url()), status_callback=None)
        else:  # imported people may have none: nothing to text
            logger.warning("handoff SMS to member %s: no SMS number", member.pk)
    except TransportError as exc:
        logger.warning("handoff SMS to member %s failed: %s", member.pk, exc)
    email = member.user.email
    if email:
        send_mail(subject, text(url()), None, [email])


def _claim(note: HandoffNote, field: str, now: dt.datetime, **where: object) -> bool:
    return (
        HandoffNote.objects.filter(
            pk=note.pk, **{f"{field}__isnull": True}, **where
        ).update(**{field: now})
        == 1
    )


def _title(note: HandoffNote) -> str:
    return f"On-call handoff: {note.outgoing.username} → {note.incoming.username}"


def note_page_url(note: HandoffNote) -> str:
    return settings.PUBLIC_BASE_URL + reverse("handoff-note", args=[note.pk])


def handoff_notify(*, note_id: int, now: dt.datetime) -> list[str]:
    """Whatever ``note_id`` is due to tell: the outgoing engineer of the draft,
    the incoming one of the submitted note.  Returns who was told."""
    note = (
        HandoffNote.objects.filter(pk=note_id)
        .select_related("outgoing__user", "incoming__user", "team")
        .first()
    )
    told: list[str] = []
    if note is None:
        return told
    if note.status == HandoffNote.Status.DRAFT and _claim(
        note, "outgoing_notified_at", now, status=HandoffNote.Status.DRAFT
    ):
        _send(
            note.outgoing,
            note=note,
            subject=_title(note),
            text=lambda url: (
                f"{_title(note)} ({note.team.slug}, {note.role}) is "
                f"drafted: edit and submit it at {url}"
            ),
        )
        told.append(note.outgoing.username)
    if note.status == HandoffNote.Status.SUBMITTED and _claim(
        note, "notified_at", now, status=HandoffNote.Status.SUBMITTED
    ):
        auto = " (submitted as drafted)" if note.auto_submitted else ""
        _send(
            note.incoming,
            note=note,
            subject=_title(note),
            text=lambda url: (
                f"{_title(note)} ({note.team.slug}, {note.role}){auto}: "
                f"read and acknowledge it at {url}"
            ),
        )
        told.append(note.incoming.username)
    return told


def handoffs_notify_pending(*, now: dt.datetime) -> int:
    """Notes whose notification was published but never done (broker down,
    worker died): the sweep's catch-up."""
    pending = (
        HandoffNote.objects.filter(
            Q(status=HandoffNote.Status.DRAFT, outgoing_notified_at__isnull=True)
            | Q(status=HandoffNote.Status.SUBMITTED, notified_at__isnull=True)
        )
        .filter(boundary__gt=now - dt.timedelta(hours=settings.HANDOFF_LOOKBACK_HOURS))
        .values_list("pk", flat=True)
    )
    return sum(len(handoff_notify(note_id=pk, now=now)) for pk in pending)


def handoff_remind(*, note: HandoffNote, now: dt.datetime) -> list[str]:
    """The note is past its grace period unacknowledged: tell the incoming
    engineer again (a fresh link) and the rotation's secondary at the boundary.
    Once per note."""
    if not _claim(note, "reminded_at", now, status=HandoffNote.Status.SUBMITTED):
        return []
    told = [note.incoming.username]
    _send(
        note.incoming,
        note=note,
        subject=f"Reminder: {_title(note)}",
        text=lambda url: (
            f"Reminder: {_title(note)} ({note.team.slug}) is not "
            f"acknowledged yet: {url}"
        ),
    )
    secondary = oncall_at(team=note.team, at=note.boundary).secondary
    if secondary is not None and secondary.pk not in (
        note.incoming_id,
        note.outgoing_id,
    ):
        minutes = int((now - note.boundary).total_seconds() // 60)
        # The secondary gets the page itself (sign in), not a link: the note is
        # neither from nor to them.
        _send(
            secondary,
            note=note,
            link=False,
            subject=f"Unacknowledged: {_title(note)}",
            text=lambda url: (
                f"{_title(note)} ({note.team.slug}) is not acknowledged "
                f"{minutes} min after the shift change: {url}"
            ),
        )
        told.append(secondary.username)
    return told


__all__ = ["handoff_notify", "handoff_remind", "handoffs_notify_pending"]
