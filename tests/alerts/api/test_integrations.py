"""/api/v1/integrations/: the token shown once at creation and at rotation, only
its hash stored; the old token stops working at once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from alerts.intake.integrations import integration_for_token
from alerts.models import Integration, hash_token
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return bearer_client(get_user_model().objects.create_user("ops", is_staff=True))


def test_the_token_is_shown_once_and_stored_hashed(staff, team):
    response = staff.post(
        "/api/v1/integrations/", {"team": "payments", "name": "prod"}, format="json"
    )
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    integration = Integration.objects.get()
    assert integration.token_hash == hash_token(token)
    assert token not in str(Integration.objects.values().get())
    assert response.json()["webhook_url_with_token"].endswith(f"/{token}/")
    assert integration.routes.filter(matchers__isnull=True).exists()  # catch-all
    shown = staff.get(f"/api/v1/integrations/{integration.pk}/").json()
    assert "token" not in shown and shown["token_hint"] == token[:6]


def test_a_name_in_use_is_a_400(staff, team, integration):
    response = staff.post(
        "/api/v1/integrations/", {"team": "payments", "name": "prod"}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["detail"]


def test_rotating_replaces_the_token(staff, integration):
    old = integration.token_hash
    response = staff.post(f"/api/v1/integrations/{integration.pk}/rotate/")
    assert response.status_code == 200
    new = response.json()["token"]
    integration.refresh_from_db()
    assert integration.token_hash == hash_token(new) != old
    assert integration_for_token(new) == integration.pk
