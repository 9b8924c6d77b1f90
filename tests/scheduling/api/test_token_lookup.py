"""The API token's lookup runs a statement compiled once (scheduling/tokens.py):
it must give what the ORM gives, token and user alike, and refuse what it
refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduling.models import ApiToken
from scheduling.tokens import api_token_authenticate, api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    user = get_user_model().objects.create_user(
        "alice", email="alice@example.com", first_name="Alice", is_staff=True
    )
    now = timezone.now()
    return api_token_create(
        user=user,
        name="ci",
        scopes=["read", "write"],
        created_by=user,
        expires_at=now + dt.timedelta(days=1),
        now=now,
    )


def test_the_token_and_its_user_are_what_the_orm_reads(issued):
    found = api_token_authenticate(secret=issued.secret, now=timezone.now())
    assert found is not None
    expected = ApiToken.objects.select_related("user").get(pk=issued.token.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname)
    for field in type(expected.user)._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(
            expected.user, field.attname
        )
    assert found.scopes == ["read", "write"] and found.user.is_staff is True
    assert found.expires_at.tzinfo is not None
    # A complete instance, its user cached: reading it costs no query.
    with CaptureQueriesContext(connection) as queries:
        assert (found.user.email, found.user.get_full_name()) == (
            "alice@example.com",
            "Alice",
        )
    assert queries.captured_queries == []


def test_a_recently_used_token_is_one_statement(issued):
    api_token_authenticate(secret=issued.secret, now=timezone.now())  # records use
    with CaptureQueriesContext(connection) as queries:
        assert api_token_authenticate(secret=issued.secret, now=timezone.now())
    assert len(queries.captured_queries) == 1


def test_unknown_expired_revoked_and_deactivated_are_refused(issued):
    now = timezone.now()
    assert api_token_authenticate(secret=issued.secret + "x", now=now) is None
    later = now + dt.timedelta(days=2)
    assert api_token_authenticate(secret=issued.secret, now=later) is None
    user = issued.token.user
    user.is_active = False
    user.save()
    assert api_token_authenticate(secret=issued.secret, now=now) is None
    user.is_active = True
    user.save()
    assert api_token_authenticate(secret=issued.secret, now=now) is not None
    api_token_revoke(token=issued.token)
    assert api_token_authenticate(secret=issued.secret, now=now) is None
