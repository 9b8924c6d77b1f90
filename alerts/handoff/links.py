"""Signed, expiring, single-use links to a handoff note.

The URL carries ``signing.dumps(nonce)`` (Django's ``TimestampSigner`` under the
``SECRET_KEY``): it cannot be forged, and its timestamp makes it expire after
``HANDOFF_LINK_MAX_AGE_SECONDS``.  The :class:`~alerts.models.HandoffLink` row
holding the nonce is the used-marker: the first use sets ``used_at`` with a
conditional update, so of two concurrent uses only one wins.  Links are never
logged.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse

from alerts.models import HandoffLink, HandoffNote
from scheduling.models import Member

SALT = "alerts.handoff.link"


class LinkRefused(Exception):
    """``reason``: ``invalid`` (tampered or unknown), ``expired`` or ``used``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def link_create(*, note: HandoffNote, member: Member) -> str:
    """An absolute URL that lets ``member`` open ``note`` once."""
    nonce = secrets.token_urlsafe(24)
    HandoffLink.objects.create(note=note, member=member, nonce=nonce)
    token = signing.dumps(nonce, salt=SALT, compress=False)
    return settings.PUBLIC_BASE_URL + reverse("handoff-link", args=[token])


def link_use(*, token: str, now: dt.datetime) -> HandoffLink:
    """The link ``token`` stands for, now used; :class:`LinkRefused` otherwise."""
    try:
        nonce = signing.loads(
            token, salt=SALT, max_age=settings.HANDOFF_LINK_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("invalid") from None
    if not isinstance(nonce, str):
        raise LinkRefused("invalid")
    link = HandoffLink.objects.filter(nonce=nonce).select_related("note").first()
    if link is None:
        raise LinkRefused("invalid")
    claimed = HandoffLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=now
    )
    if claimed != 1:
        raise LinkRefused("used")
    return link
