"""Feed tokens: make a feed (its secret returned this once), revoke it, rotate
its token, and find the live feed a poll's secret belongs to.

Only the hash of a secret is stored (DESIGN.md §6, invariant 8), as for API
tokens; the secret is the feed URL's path, so whoever holds the URL may read the
feed and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Subquery
from django.urls import reverse

from scheduling.models import (
    FeedToken,
    Member,
    Rotation,
    ScheduleVersion,
    Team,
    hash_feed_token,
)
from scheduling.version import EPOCH, ROW, Version

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# last_polled_at (and the client) is written at most this often per feed, so
# steady polling reads and never writes.
POLL_RESOLUTION = dt.timedelta(minutes=15)
HINT_LENGTH = 6


@dataclass(frozen=True)
class IssuedFeed:
    feed: FeedToken
    secret: str

    @property
    def url(self) -> str:
        return feed_url(self.secret)

    @property
    def webcal_url(self) -> str:
        return webcal_url(self.secret)


@dataclass(frozen=True)
class Poll:
    feed: FeedToken
    version: Version


def feed_url(secret: str) -> str:
    """The https:// (or http://, per ``PUBLIC_BASE_URL``) address of a feed."""
    return settings.PUBLIC_BASE_URL + reverse("ical-feed", kwargs={"token": secret})


def webcal_url(secret: str) -> str:
    """The same address as ``webcal://``: calendar apps open it as a subscription."""
    return "webcal://" + feed_url(secret).split("://", 1)[1]


def _new_secret() -> tuple[str, str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_feed_token(secret), secret[:HINT_LENGTH]


@transaction.atomic
def feed_create(
    *,
    subject: Member | Team | Rotation,
    owner: User,
    created_by: User | None,
) -> IssuedFeed:
    """A feed of a member's, a team's or a rotation's effective shifts, managed by
    ``owner``; the secret is in the result and nowhere else."""
    secret, digest, hint = _new_secret()
    kinds = {Member: "member", Team: "team", Rotation: "rotation"}
    field = kinds[type(subject)]
    feed = FeedToken.objects.create(
        owner=owner,
        token_hash=digest,
        token_hint=hint,
        created_by=created_by,
        **{field: subject},
    )
    return IssuedFeed(feed=feed, secret=secret)


def feed_revoke(*, feed: FeedToken, now: dt.datetime) -> None:
    """The feed's URL answers 404 from now on.  The row stays, revoked, so the
    admin can tell which client kept polling a revoked feed."""
    FeedToken.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    feed.revoked_at = feed.revoked_at or now


@transaction.atomic
def feed_rotate(*, feed: FeedToken) -> IssuedFeed:
    """A new secret for the same feed; the old URL answers 404 at once."""
    secret, digest, hint = _new_secret()
    FeedToken.objects.filter(pk=feed.pk).update(token_hash=digest, token_hint=hint)
    feed.token_hash, feed.token_hint = digest, hint
    return IssuedFeed(feed=feed, secret=secret)


def feed_for_poll(*, secret: str, user_agent: str, now: dt.datetime) -> Poll | None:
    """The live feed whose secret this is, with the schedule version, in one
    indexed query; ``None`` for an unknown or revoked one.  Records the poll
    (coarsely: see :data:`POLL_RESOLUTION`)."""
    digest = hash_feed_token(secret)
    version = ScheduleVersion.objects.filter(pk=ROW)
    # No joins and no ordering: an unchanged poll needs the token's own row (its
    # scope is ids) and the version; a render (a cache miss, rare) loads the
    # member, team or rotation when it needs them.  Compiling the joined query
    # cost more than running it.
    found = (
        FeedToken.objects.filter(token_hash=digest, revoked_at__isnull=True)
        .annotate(
            schedule_version=Subquery(version.values("version")[:1]),
            schedule_changed_at=Subquery(version.values("changed_at")[:1]),
        )
        .order_by()[:1]
    )
    feed = next(iter(found), None)
    # The lookup is by an index on the hash; this compare is the constant-time
    # check that what was found is what was asked for.
    if feed is None or not hmac.compare_digest(feed.token_hash, digest):
        return None
    user_agent = user_agent[:200]
    if (
        feed.last_polled_at is None
        or now - feed.last_polled_at > POLL_RESOLUTION
        or feed.last_user_agent != user_agent
    ):
        FeedToken.objects.filter(pk=feed.pk).update(
            last_polled_at=now, last_user_agent=user_agent
        )
        feed.last_polled_at, feed.last_user_agent = now, user_agent
    number = feed.schedule_version or 0
    changed_at = feed.schedule_changed_at or EPOCH
    return Poll(feed=feed, version=Version(number, changed_at))


__all__ = [
    "IssuedFeed",
    "Poll",
    "feed_create",
    "feed_for_poll",
    "feed_revoke",
    "feed_rotate",
    "feed_url",
    "webcal_url",
]
