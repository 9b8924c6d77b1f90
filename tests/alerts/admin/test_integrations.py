"""The operator's console for alerts."""

from __future__ import annotations

import re

import pytest

from alerts.models import Integration
from tests.alerts.conftest import Webhook

pytestmark = pytest.mark.django_db


def test_creating_an_integration_shows_its_token_once_with_snippets(
    admin_client, team, client
):
    response = admin_client.post(
        "/admin/alerts/integration/add/",
        {
            "team": team.pk,
            "name": "staging",
            "enabled": "on",
            "reopen_window": "0",
            "heartbeat_alertname": "Watchdog",
            "heartbeat_interval": "",
            "routes-TOTAL_FORMS": "0",
            "routes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200, response.content
    page = response.content.decode()
    token = re.search(r'<code id="token">([^<]+)</code>', page).group(1)
    assert f"/api/v1/alertmanager/{token}/" in page
    assert "authorization:" in page and "basic_auth:" in page
    integration = Integration.objects.get(name="staging")
    assert token not in integration.token_hash  # only the hash is stored
    assert integration.routes.filter(matchers__isnull=True).count() == 1  # catch-all
    # The shown token works, in each style.
    for style in ("path", "bearer", "basic"):
        assert (
            Webhook(client, token).post("a_single_firing", style=style).status_code
            == 202
        )


def test_the_change_page_shows_the_urls_but_not_the_token(admin_client, integration):
    response = admin_client.get(f"/admin/alerts/integration/{integration.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/v1/alertmanager/&lt;token&gt;/" in page
    assert integration.token_hint in page
    assert "catch-all (matches everything)" in page


def test_rotating_the_token_replaces_the_old_one(admin_client, integration, client):
    url = f"/admin/alerts/integration/{integration.pk}/rotate-token/"
    assert "Rotate the token" in admin_client.get(url).content.decode()
    page = admin_client.post(url).content.decode()
    token = re.search(r'<code id="token">([^<]+)</code>', page).group(1)
    assert Webhook(client).post("a_single_firing").status_code == 401  # old token
    assert Webhook(client, token).post("a_single_firing").status_code == 202
