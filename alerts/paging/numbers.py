"""Whom to call on which number: a member's contact methods, broken numbers."""

from __future__ import annotations

from datetime import datetime

from alerts.models import ContactMethod
from scheduling.models import Member


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
