"""/api/v1/tokens/: personal and service tokens, shown once, stored hashed;
Bearer authentication, scopes, expiry, revocation, throttling, session + CSRF."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from scheduling.models import ApiToken
from tests.api_client import bearer_client, token_for

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens/"


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="pw")


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob")


@pytest.fixture
def ops():
    return get_user_model().objects.create_user("ops", is_staff=True)


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_new_token_is_shown_once_and_stored_only_as_a_hash(alice):
    response = bearer_client(alice).post(
        TOKENS, {"name": "grafana", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    assert secret.startswith("oncall_") and len(secret) > 40
    assert (body["name"], body["user"], body["scopes"]) == (
        "grafana",
        "alice",
        ["read"],
    )
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    for token in ApiToken.objects.all():
        values = [str(getattr(token, f.attname)) for f in ApiToken._meta.fields]
        assert not any(secret in v for v in values)
    listed = bearer(secret).get(TOKENS)
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    assert "token" not in listed.json()[0]
    assert {t["name"] for t in listed.json()} == {"grafana", "test"}


def test_using_a_token_records_when(alice):
    secret = token_for(alice)
    assert ApiToken.objects.get().last_used_at is None
    assert bearer(secret).get(TOKENS).status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_a_read_only_token_cannot_write(alice):
    client = bearer_client(alice, scopes=("read",))
    assert client.get(TOKENS).status_code == 200
    response = client.post(TOKENS, {"name": "x", "scopes": ["read"]}, format="json")
    assert response.status_code == 403
    assert "'write' scope" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "x", "scopes": ["write"]}, "scopes", "write needs read"),
        ({"name": "x", "scopes": ["admin"]}, "scopes", "not a valid choice"),
        ({"name": "x"}, "scopes", "required"),
        ({"name": " ", "scopes": ["read"]}, "name", "blank"),
        (
            {"name": "x", "scopes": ["read"], "expires_at": "2030-01-01T00:00:00"},
            "expires_at",
            "has no UTC offset",
        ),
        (
            {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at",
            "future",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice, body, field, words):
    response = bearer_client(alice).post(TOKENS, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "invalid request"
    assert words in str(error["detail"][field])


def test_an_expired_token_is_refused(alice):
    secret = token_for(alice)
    ApiToken.objects.update(expires_at="2001-01-01T00:00:00Z")
    response = bearer(secret).get(TOKENS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"error": "invalid or expired token"}


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer", "Bearer a b"])
def test_unknown_or_malformed_bearer_tokens_are_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(TOKENS)
    assert response.status_code == 401
    assert "error" in response.json()


def test_a_deactivated_users_token_is_refused(alice):
    secret = token_for(alice)
    alice.is_active = False
    alice.save()
    assert bearer(secret).get(TOKENS).status_code == 401


def test_revoking_a_token_stops_it_at_once(alice):
    secret = token_for(alice)
    pk = ApiToken.objects.get().pk
    other = bearer_client(alice)
    assert other.delete(f"{TOKENS}{pk}/").status_code == 204
    assert bearer(secret).get(TOKENS).status_code == 401
    assert other.delete(f"{TOKENS}{pk}/").status_code == 404


def test_nobody_revokes_or_sees_someone_elses_token(alice, bob):
    secret = token_for(alice)
    pk = ApiToken.objects.get().pk
    bobs = bearer_client(bob)
    assert [t["user"] for t in bobs.get(TOKENS).json()] == ["bob"]
    assert bobs.delete(f"{TOKENS}{pk}/").status_code == 404
    assert bearer(secret).get(TOKENS).status_code == 200


def test_only_staff_make_service_tokens_for_others(alice, bob, ops):
    response = bearer_client(alice).post(
        TOKENS, {"name": "bot", "scopes": ["read"], "user": "bob"}, format="json"
    )
    assert response.status_code == 403
    assert not ApiToken.objects.filter(user=bob).exists()
    response = bearer_client(ops).post(
        TOKENS,
        {"name": "deploy gate", "scopes": ["read"], "user": "bob"},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["user"], response.json()["created_by"]) == ("bob", "ops")
    service = response.json()["token"]
    assert bearer(service).get(TOKENS).json()[0]["name"] == "deploy gate"
    # Staff see what they made, and may revoke it.
    made = bearer_client(ops).get(TOKENS).json()
    assert "deploy gate" in {t["name"] for t in made}
    pk = response.json()["id"]
    assert bearer_client(ops).delete(f"{TOKENS}{pk}/").status_code == 204


def test_staff_naming_an_unknown_user_get_a_400(ops):
    response = bearer_client(ops).post(
        TOKENS, {"name": "bot", "scopes": ["read"], "user": "ghost"}, format="json"
    )
    assert response.status_code == 400
    assert "no user 'ghost'" in str(response.json()["detail"]["user"])


def test_each_token_is_throttled_on_its_own(alice, settings):
    settings.API_THROTTLE_RATE = "2/min"
    cache.clear()
    first, second = bearer_client(alice), bearer_client(alice)
    try:
        assert [first.get(TOKENS).status_code for _ in range(2)] == [200, 200]
        response = first.get(TOKENS)
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert "throttled" in response.json()["error"]
        assert second.get(TOKENS).status_code == 200
    finally:
        cache.clear()


def test_the_browser_session_needs_csrf_to_write(alice):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password="pw")
    assert client.get(TOKENS).status_code == 200
    response = client.post(TOKENS, {"name": "x", "scopes": ["read"]}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
