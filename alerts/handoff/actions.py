"""What people and the clock do to a note: edit, submit, acknowledge; submit as
drafted after ``auto_submit_after``; remind after the ``grace`` period.

Who may: the outgoing engineer edits and submits, the incoming one acknowledges,
staff may do either (:func:`handoff_can_submit`, :func:`handoff_can_acknowledge`).
State changes are conditional updates, so a double click or two workers change a
note once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from alerts import queue
from alerts.handoff.draft import lookback_start, team_handoff_settings
from alerts.handoff.notify import handoff_remind
from alerts.models import HandoffNote
from scheduling.access import user_is_staff
from scheduling.models import Member

MAX_ITEMS = 50
MAX_TEXT = 2000


class HandoffError(Exception):
    """The note is not in a state that allows this (an API 409)."""


def _member_id(user: Any) -> int | None:
    if user is None or not user.is_authenticated:
        return None
    member = Member.objects.filter(user=user).only("pk").first()
    return member.pk if member else None


def handoff_can_submit(user: Any, note: HandoffNote) -> bool:
    return user_is_staff(user) or _member_id(user) == note.outgoing_id


def handoff_can_acknowledge(user: Any, note: HandoffNote) -> bool:
    return user_is_staff(user) or _member_id(user) == note.incoming_id


def handoff_can_act(user: Any, note: HandoffNote) -> bool:
    """A member acts only on notes from or to them; staff on all."""
    return handoff_can_submit(user, note) or handoff_can_acknowledge(user, note)


def ongoing_parse(text: str) -> list[dict]:
    """Ongoing issues from the page's text box: one per line; a line starting with
    ``[watch]`` carries forward into every following note until removed."""
    items = []
    for line in text.splitlines():
        line = line.strip()
        watch = line.lower().startswith("[watch]")
        if watch:
            line = line[len("[watch]") :].strip()
        if line:
            items.append({"text": line[:MAX_TEXT], "watch": watch})
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} ongoing issues")
    return items


def ongoing_text(items: list[dict]) -> str:
    return "\n".join(
        ("[watch] " if item.get("watch") else "") + item["text"] for item in items
    )


@transaction.atomic
def handoff_edit(*, note: HandoffNote, ongoing: list[dict], tips: str) -> HandoffNote:
    """Change the free-text sections of a draft."""
    locked = HandoffNote.objects.select_for_update().get(pk=note.pk)
    if locked.status != HandoffNote.Status.DRAFT:
        raise HandoffError(f"the note is {locked.status}: it can no longer change")
    # NUL characters: PostgreSQL stores them in neither text nor jsonb.
    locked.ongoing = [
        {"text": str(i["text"]).replace("\x00", ""), "watch": bool(i.get("watch"))}
        for i in ongoing
    ]
    locked.tips = tips.replace("\x00", "")[: MAX_TEXT * 5]
    locked.save(update_fields=["ongoing", "tips"])
    return locked


@transaction.atomic
def handoff_submit(
    *, note: HandoffNote, now: dt.datetime, auto: bool = False
) -> HandoffNote:
    """Draft -> submitted; the incoming engineer is notified on commit."""
    changed = HandoffNote.objects.filter(
        pk=note.pk, status=HandoffNote.Status.DRAFT
    ).update(status=HandoffNote.Status.SUBMITTED, submitted_at=now, auto_submitted=auto)
    if changed != 1:
        raise HandoffError("the note is submitted already")
    queue.publish_on_commit(queue.HANDOFF_NOTIFY, note.pk)
    return HandoffNote.objects.get(pk=note.pk)


@transaction.atomic
def handoff_acknowledge(*, note: HandoffNote, now: dt.datetime) -> HandoffNote:
    """Submitted -> acknowledged (acknowledging twice changes nothing)."""
    current = HandoffNote.objects.get(pk=note.pk)
    if current.status == HandoffNote.Status.ACKNOWLEDGED:
        return current
    changed = HandoffNote.objects.filter(
        pk=note.pk, status=HandoffNote.Status.SUBMITTED
    ).update(status=HandoffNote.Status.ACKNOWLEDGED, acknowledged_at=now)
    if changed != 1:
        raise HandoffError("the note is not submitted yet: nothing to acknowledge")
    return HandoffNote.objects.get(pk=note.pk)


def handoffs_auto_submit(*, now: dt.datetime) -> list[HandoffNote]:
    """Drafts past their team's ``auto_submit_after``: submitted as drafted.
    Only within ``HANDOFF_LOOKBACK_HOURS`` of the boundary: older notes are
    history, and nobody is woken for them."""
    done = []
    drafts = HandoffNote.objects.filter(
        status=HandoffNote.Status.DRAFT,
        boundary__lt=now,
        boundary__gt=lookback_start(now),
    ).select_related("team")
    for note in drafts:
        if note.boundary + team_handoff_settings(note.team).auto_submit_after > now:
            continue
        try:
            done.append(handoff_submit(note=note, now=now, auto=True))
        except HandoffError:
            continue  # submitted by its author meanwhile
    return done


def handoffs_remind(*, now: dt.datetime) -> list[HandoffNote]:
    """Submitted notes unacknowledged ``grace`` after the boundary (or after they
    were submitted, if later): remind once."""
    reminded = []
    waiting = HandoffNote.objects.filter(
        status=HandoffNote.Status.SUBMITTED,
        reminded_at__isnull=True,
        boundary__gt=lookback_start(now),
    ).select_related("team", "incoming__user", "outgoing__user")
    for note in waiting:
        since = max(note.boundary, note.submitted_at or note.boundary)
        if since + team_handoff_settings(note.team).grace > now:
            continue
        if handoff_remind(note=note, now=now):
            reminded.append(note)
    return reminded
