"""manage.py oncall_token: the first token, from the shell."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from scheduling.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_it_prints_a_secret_that_works_and_stores_its_hash():
    get_user_model().objects.create_superuser("admin")
    secret = run("admin", "--name", "bootstrap")
    token = ApiToken.objects.get()
    assert (token.name, token.scopes) == ("bootstrap", ["read", "write"])
    assert secret not in token.token_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/tokens/").status_code == 200


def test_read_only_and_expiry():
    get_user_model().objects.create_user("bot")
    run("bot", "--read-only", "--expires", "2099-01-01T00:00:00Z")
    token = ApiToken.objects.get()
    assert token.scopes == ["read"] and token.expires_at.year == 2099


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["ghost"], "no user 'ghost'"),
        (["bot", "--expires", "2099-01-01T00:00"], "no UTC offset"),
        (["bot", "--expires", "2001-01-01T00:00Z"], "future"),
    ],
)
def test_it_refuses_with_a_message(args, words):
    get_user_model().objects.create_user("bot")
    with pytest.raises(CommandError, match=words):
        run(*args)
    assert not ApiToken.objects.exists()
