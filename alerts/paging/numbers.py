"""Broken numbers: the provider says a number cannot be reached.  (Which numbers
to try is a read: ``alerts.selectors.member_numbers``.)"""

from __future__ import annotations

from datetime import datetime

from alerts.models import ContactMethod
from scheduling.models import Member


def contact_mark_broken(
    *,
    member: Member,
    method: ContactMethod | None,
    phone: str,
    reason: str,
    at: datetime,
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
