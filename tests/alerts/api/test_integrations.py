"""/api/v1/integrations/: the token shown once at creation and at rotation, only
its hash stored; the old token stops working at once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from alerts.intake.integrations import integration_for_token
from alerts.models import Integration, Route, hash_token
from tests.alerts.conftest import open_incident
from tests.api_client import bearer_client
from tests.cast import TOKEN

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


def test_put_by_slug_twice_changes_nothing_the_second_time(staff, integration, writes):
    url = f"/api/v1/integrations/{integration.slug}/"
    body = {
        "team": "payments",
        "name": "prod",
        "enabled": False,
        "heartbeat_interval": 5,
    }
    first = staff.put(url, body, format="json")
    assert first.status_code == 200, first.content
    assert (first.json()["enabled"], first.json()["heartbeat_interval"]) == (False, 5)
    with writes() as w:
        second = staff.put(url, body, format="json")
    assert second.json() == first.json()
    assert w.statements == []
    assert integration_for_token(TOKEN) is None  # disabled: refuses webhooks


def test_an_integration_with_incidents_is_not_deleted(staff, integration, published):
    open_incident(integration, in_maintenance=True)
    response = staff.delete(f"/api/v1/integrations/{integration.slug}/")
    assert response.status_code == 409
    assert "disable it instead" in response.json()["error"]
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_an_unused_integration_is_deleted_with_its_routes(staff, team):
    made = staff.post(
        "/api/v1/integrations/", {"team": "payments", "name": "spare"}, format="json"
    ).json()
    assert Route.objects.filter(integration_id=made["id"]).exists()
    assert staff.delete(f"/api/v1/integrations/{made['slug']}/").status_code == 204
    assert not Route.objects.filter(integration_id=made["id"]).exists()


def test_the_token_is_rotated_by_slug(staff, integration):
    response = staff.post(f"/api/v1/integrations/{integration.slug}/rotate/")
    assert response.status_code == 200
    assert integration_for_token(response.json()["token"]) == integration.pk


def test_integrations_are_filtered_by_team(staff, integration, other_team, alice):
    staff.post(
        "/api/v1/integrations/", {"team": "checkout", "name": "shop"}, format="json"
    )
    listed = staff.get("/api/v1/integrations/?team=checkout").json()
    assert [i["slug"] for i in listed] == ["checkout-shop"]
    mine = bearer_client(alice.user)
    assert [i["slug"] for i in mine.get("/api/v1/integrations/").json()] == [
        "payments-prod"
    ]
    assert mine.get("/api/v1/integrations/?team=checkout").status_code == 400
