"""Action items: added to a postmortem, finished, listed when overdue, and their
owner reminded once when they become overdue.

"Overdue" is judged in the team's time zone: an item due on the 14th is overdue
from 00:00 on the 15th, team time.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.mail import send_mail
from django.db.models import QuerySet

from alerts.models import ActionItem, Postmortem
from alerts.selectors import member_sms_number
from alerts.transports import TransportError, get_transport
from scheduling.models import Member, Team

logger = logging.getLogger(__name__)


def action_item_add(
    *, postmortem: Postmortem, text: str, owner: Member, priority: str, due: dt.date
) -> ActionItem:
    item = ActionItem(
        postmortem=postmortem, text=text, owner=owner, priority=priority, due=due
    )
    item.full_clean()
    item.save()
    return item


ITEM_FIELDS = ("text", "owner", "priority", "due", "status")


def action_item_update(
    *, item: ActionItem, now: dt.datetime, **fields: object
) -> ActionItem:
    """Change an item.  Done records when; reopened forgets it.  A new due date
    may make it overdue again later, so its owner may be told again then."""
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"not fields of an action item: {sorted(unknown)}")
    if "status" in fields and fields["status"] != item.status:
        item.done_at = now if fields["status"] == ActionItem.Status.DONE else None
    if "due" in fields and fields["due"] != item.due:
        item.reminded_at = None
    for name, value in fields.items():
        setattr(item, name, value)
    item.full_clean()
    item.save()
    return item


def action_item_done(*, item: ActionItem, now: dt.datetime) -> ActionItem:
    ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.OPEN).update(
        status=ActionItem.Status.DONE, done_at=now
    )
    item.refresh_from_db()
    return item


def action_items_overdue(*, team: Team, now: dt.datetime) -> QuerySet[ActionItem]:
    """The team's open action items whose due date has passed in its zone."""
    today = now.astimezone(team.tz).date()
    return (
        ActionItem.objects.filter(
            postmortem__team=team, status=ActionItem.Status.OPEN, due__lt=today
        )
        .select_related("owner__user", "postmortem")
        .order_by("due", "priority", "id")
    )


def action_items_remind_overdue(*, now: dt.datetime) -> list[ActionItem]:
    """Tell each owner once about each item that became overdue: an SMS, and an
    email when they have an address.  Claimed by a conditional update, so the
    task run twice (or two workers) tells nobody twice."""
    told = []
    for team in Team.objects.filter(
        pk__in=ActionItem.objects.filter(
            status=ActionItem.Status.OPEN, reminded_at__isnull=True
        ).values("postmortem__team")
    ):
        for item in action_items_overdue(team=team, now=now).filter(
            reminded_at__isnull=True
        ):
            claimed = ActionItem.objects.filter(
                pk=item.pk, reminded_at__isnull=True
            ).update(reminded_at=now)
            if claimed != 1:
                continue
            text = (
                f"Overdue {item.priority} action item (due {item.due:%Y-%m-%d}) from "
                f"the postmortem '{item.postmortem.title}': {item.text}"
            )
            try:
                number = member_sms_number(item.owner)
                if number:  # imported people may have none
                    get_transport().send_sms(
                        to=number, body=text[:600], status_callback=None
                    )
            except TransportError as exc:
                logger.warning(
                    "reminder SMS to member %s failed: %s", item.owner_id, exc
                )
            if item.owner.user.email:
                send_mail("Overdue action item", text, None, [item.owner.user.email])
            told.append(item)
    return told
