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
from django.db import connections, router, transaction
from django.db.models import Subquery
from django.urls import reverse

from scheduling.hot_sql import column_instant, hot_fetch
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
    """What a poll found: the feed's id and scope (what it shows) and the
    schedule version, read in one statement; the feed row itself is loaded only
    when the calendar has to be rendered (:meth:`load_feed`)."""

    feed_id: int
    scope: str
    version: Version

    def load_feed(self) -> FeedToken:
        return FeedToken.objects.select_related(
            "member__user", "team", "rotation__team"
        ).get(pk=self.feed_id)


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
    FeedToken.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=now)
    feed.revoked_at = feed.revoked_at or now


@transaction.atomic
def feed_rotate(*, feed: FeedToken) -> IssuedFeed:
    """A new secret for the same feed; the old URL answers 404 at once."""
    secret, digest, hint = _new_secret()
    FeedToken.objects.filter(pk=feed.pk).update(token_hash=digest, token_hint=hint)
    feed.token_hash, feed.token_hint = digest, hint
    return IssuedFeed(feed=feed, secret=secret)


# The poll's statement, compiled by the ORM once per process and then run as
# SQL: compiling this queryset cost more CPU than PostgreSQL spent running it,
# on the path every calendar app in the company hits.  ``_DIGEST`` marks where
# the hash goes among the compiled parameters.
_DIGEST = "\x00digest\x00"
_POLL_COLUMNS = (
    "pk",
    "member_id",
    "team_id",
    "rotation_id",
    "token_hash",
    "last_polled_at",
    "last_user_agent",
    "schedule_version",
    "schedule_changed_at",
)
_poll_statement: tuple[str, str, tuple[object, ...]] | None = None


def _compiled_poll() -> tuple[str, tuple[object, ...]]:
    global _poll_statement
    alias = router.db_for_read(FeedToken)
    if _poll_statement is None or _poll_statement[0] != alias:
        version = ScheduleVersion.objects.filter(pk=ROW)
        # No joins and no ordering: an unchanged poll needs the token's own
        # columns (its scope is ids) and the version; a render (a cache miss,
        # rare) loads the member, team or rotation when it needs them.
        query = (
            FeedToken.objects.using(alias)
            .filter(token_hash=_DIGEST, revoked_at__isnull=True)
            .annotate(
                schedule_version=Subquery(version.values("version")[:1]),
                schedule_changed_at=Subquery(version.values("changed_at")[:1]),
            )
            .order_by()
            .values_list(*_POLL_COLUMNS)[:1]
        )
        sql, params = query.query.sql_with_params()
        _poll_statement = (alias, sql, tuple(params))
    return _poll_statement[1], _poll_statement[2]


def feed_scope(
    member_id: int | None, team_id: int | None, rotation_id: int | None
) -> str:
    """What a feed shows, from its subject's ids (as :attr:`FeedToken.scope`)."""
    if member_id is not None:
        return f"{FeedToken.MEMBER}:{member_id}"
    if team_id is not None:
        return f"{FeedToken.TEAM}:{team_id}"
    return f"{FeedToken.ROTATION}:{rotation_id}"


def feed_for_poll(*, secret: str, user_agent: str, now: dt.datetime) -> Poll | None:
    """The live feed whose secret this is, with the schedule version, in one
    indexed query (an index-only scan on PostgreSQL: ``feed_poll_covering``, the
    index of migration 0010, covers the columns read); ``None`` for an unknown
    or revoked one.  Records the poll (coarsely: see :data:`POLL_RESOLUTION`)."""
    digest = hash_feed_token(secret)
    sql, params = _compiled_poll()
    args = [digest if p == _DIGEST else p for p in params]
    connection = connections[router.db_for_read(FeedToken)]
    # Prepared on PostgreSQL, and its own health check (scheduling/hot_sql.py).
    row = hot_fetch(connection, sql, args)
    # The lookup is by an index on the hash; this compare is the constant-time
    # check that what was found is what was asked for.
    if row is None or not hmac.compare_digest(row[4], digest):
        return None
    pk, member_id, team_id, rotation_id, _, polled, agent, number, changed = row
    polled = column_instant(polled)
    user_agent = user_agent[:200]
    if polled is None or now - polled > POLL_RESOLUTION or agent != user_agent:
        FeedToken.objects.filter(pk=pk).update(
            last_polled_at=now, last_user_agent=user_agent
        )
    return Poll(
        feed_id=pk,
        scope=feed_scope(member_id, team_id, rotation_id),
        version=Version(number or 0, column_instant(changed) or EPOCH),
    )


__all__ = [
    "IssuedFeed",
    "Poll",
    "feed_create",
    "feed_for_poll",
    "feed_scope",
    "feed_revoke",
    "feed_rotate",
    "feed_url",
    "webcal_url",
]
