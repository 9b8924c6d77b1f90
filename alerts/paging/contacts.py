"""A member's contact methods: the numbers paging tries, in order.

The API and the admin call these.  The rules: an E.164 number, once per member;
without ``position`` a new number goes last; a write that changes nothing saves
nothing (an API ``PUT`` applied twice).  Whether a number is broken is the
provider's to say (``paging/status.py``); changing the number clears it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from alerts.models import ContactMethod
from scheduling.models import Member

FIELDS = ("phone", "label", "sms", "voice", "position")


@transaction.atomic
def contact_method_create(
    *,
    member: Member,
    phone: str,
    label: str = "",
    sms: bool = True,
    voice: bool = True,
    position: int | None = None,
) -> ContactMethod:
    """``ValidationError`` keyed by field for a bad or repeated number."""
    if position is None:
        last = member.contact_methods.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    method = ContactMethod(
        member=member, phone=phone, label=label, sms=sms, voice=voice, position=position
    )
    method.full_clean()
    method.save()
    return method


@transaction.atomic
def contact_method_update(*, method: ContactMethod, **fields: Any) -> bool:
    """Change the given fields; True if anything changed."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not fields of a contact method: {sorted(unknown)}")
    dirty = [f for f, v in fields.items() if getattr(method, f) != v]
    if not dirty:
        return False
    for field in dirty:
        setattr(method, field, fields[field])
    if "phone" in dirty:  # a new number has not failed yet
        method.broken_at, method.broken_reason = None, ""
        dirty += ["broken_at", "broken_reason"]
    method.full_clean()
    method.save(update_fields=dirty)
    return True


def contact_method_delete(*, method: ContactMethod) -> None:
    method.delete()
