"""Migration 0005: authtoken's plain keys become hashed ApiTokens; the table goes."""

from __future__ import annotations

import hashlib
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection

from scheduling.models import ApiToken

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "scheduling.migrations.0005_drop_plaintext_authtoken"
)
KEY = "0123456789abcdef0123456789abcdef01234567"


def editor():
    """The parts of a schema editor the migration uses, on the test connection
    (SQLite's real one refuses to open inside the test's transaction)."""

    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return SimpleNamespace(
        connection=connection, quote_name=connection.ops.quote_name, execute=execute
    )


def test_old_keys_keep_working_as_bearer_tokens_and_the_plain_table_is_dropped():
    user = get_user_model().objects.create_user("robot")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token "
            "(key varchar(40) PRIMARY KEY, user_id integer, created datetime)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [KEY, user.pk, "2025-01-01 00:00:00"],
        )
    migration.forwards(apps, editor())
    token = ApiToken.objects.get()
    assert token.user == user and token.scopes == ["read", "write"]
    assert token.created_at.isoformat() == "2025-01-01T00:00:00+00:00"
    assert token.token_hash == hashlib.sha256(KEY.encode()).hexdigest()
    assert KEY not in token.token_hint + token.token_hash
    assert "authtoken_token" not in connection.introspection.table_names()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {KEY}")
    assert client.get("/api/v1/tokens/").status_code == 200


def test_without_the_table_it_does_nothing():
    migration.forwards(apps, editor())
    assert not ApiToken.objects.exists()
