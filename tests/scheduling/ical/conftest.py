from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from scheduling.feeds import feed_create
from scheduling.ical import Document, feed_document, forget_local_documents
from scheduling.models import FeedToken
from scheduling.version import schedule_version


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Both caches: each test's database counts schedule versions from 0 again.
    cache.clear()
    forget_local_documents()
    yield
    cache.clear()
    forget_local_documents()


@pytest.fixture
def render(django_capture_on_commit_callbacks):
    """Render a feed as the view would at ``now``, after running the schedule
    version bumps of whatever was committed before."""

    def go(feed: FeedToken, now: dt.datetime) -> Document:
        return feed_document(feed=feed, version=schedule_version(), now=now)

    return go


@pytest.fixture
def make_feed():
    def make(subject, owner=None) -> FeedToken:
        user = owner or getattr(subject, "user", None)
        if user is None:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.get_or_create(username="feedowner")[0]
        return feed_create(subject=subject, owner=user, created_by=user).feed

    return make
