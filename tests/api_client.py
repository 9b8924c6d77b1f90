"""API clients authenticated the way scripts are: ``Authorization: Bearer``."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.test import APIClient

from scheduling.tokens import api_token_create


def token_for(user, *, scopes: tuple[str, ...] = ("read", "write")) -> str:
    """A new API token's secret for ``user``."""
    return api_token_create(
        user=user,
        name="test",
        scopes=list(scopes),
        created_by=user,
        now=timezone.now(),
    ).secret


def bearer_client(user, *, scopes: tuple[str, ...] = ("read", "write")) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=scopes)}")
    return client
