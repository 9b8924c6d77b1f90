"""The operator's console for alerts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.intake.integrations import route_add
from alerts.models import Incident, Integration, MaintenanceWindow, Route
from tests.alerts.conftest import Webhook, only_incident

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


def test_the_test_labels_form_shows_which_route_matches(
    admin_client, integration, other_team
):
    route_add(
        integration=integration,
        team=other_team,
        matchers=['severity=~"critical|page"'],
        name="wake someone",
    )
    url = f"/admin/alerts/integration/{integration.pk}/test-labels/"
    page = admin_client.post(url, {"labels": "severity=page\nservice=api"}).content
    assert "matched route 1 &quot;wake someone&quot;" in page.decode()
    assert "Checkout" in page.decode()
    page = admin_client.post(url, {"labels": '{"severity": "info"}'}).content.decode()
    assert "matched route 2 &quot;catch-all&quot;" in page
    page = admin_client.post(url, {"labels": "no equals sign"}).content.decode()
    assert "line 1: write name=value" in page


def _route_form(route: Route, matchers: list[tuple[str, str, str]]) -> dict:
    data = {
        "integration": route.integration_id,
        "position": route.position,
        "name": route.name,
        "team": route.team_id,
        "urgency": route.urgency,
        "matchers-TOTAL_FORMS": str(len(matchers)),
        "matchers-INITIAL_FORMS": "0",
    }
    for i, (label, op, value) in enumerate(matchers):
        data.update(
            {
                f"matchers-{i}-label": label,
                f"matchers-{i}-op": op,
                f"matchers-{i}-value": value,
            }
        )
    return data


def test_an_invalid_regex_is_refused_when_the_route_is_saved(
    admin_client, integration, other_team
):
    route = route_add(integration=integration, team=other_team, matchers=['env="prod"'])
    response = admin_client.post(
        f"/admin/alerts/route/{route.pk}/change/",
        _route_form(route, [("severity", "=~", "(critical")]),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "invalid regular expression" in response.content.decode()
    assert route.matchers.count() == 1


def test_the_only_catch_all_cannot_get_matchers_or_be_deleted(
    admin_client, integration
):
    catch_all = integration.routes.get()
    response = admin_client.post(
        f"/admin/alerts/route/{catch_all.pk}/change/",
        _route_form(catch_all, [("env", "=", "prod")]),
    )
    assert "only catch-all route" in response.content.decode()
    assert not catch_all.matchers.exists()
    response = admin_client.post(
        f"/admin/alerts/route/{catch_all.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert Route.objects.filter(pk=catch_all.pk).exists()


def test_the_incident_page_shows_alerts_and_timeline(admin_client, webhook):
    webhook.send("b_group_of_three_firing", "c_group_partial_resolve")
    incident = only_incident()
    page = admin_client.get(f"/admin/alerts/incident/{incident.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "HighLatency instance=checkout-2" in text
    assert "alert resolved: HighLatency instance=checkout-2" in text
    assert "matched route 1" in text
    listing = admin_client.get("/admin/alerts/incident/").content.decode()
    assert "2 firing / 3" in listing


def test_admin_actions_acknowledge_and_resolve(admin_client, webhook, alice):
    alice.user.is_staff = alice.user.is_superuser = True
    alice.user.save()
    admin_client.force_login(alice.user)
    webhook.send("a_single_firing")
    incident = only_incident()
    admin_client.post(
        "/admin/alerts/incident/",
        {"action": "acknowledge", "_selected_action": [incident.pk]},
    )
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    admin_client.post(
        "/admin/alerts/incident/",
        {"action": "resolve", "_selected_action": [incident.pk]},
    )
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by) == ("resolved", alice)
    assert incident.timeline.last().text == "resolved by Alice (admin)"


def test_deliveries_show_raw_body_and_result(admin_client, webhook):
    webhook.send("g_max_alerts_2_of_3_truncated")
    webhook.post("a_single_firing")  # not processed yet
    listing = admin_client.get("/admin/alerts/webhookdelivery/").content.decode()
    assert "opened incident #" in listing and "pending" in listing
    processed = Incident.objects.get().pk
    from alerts.models import WebhookDelivery

    delivery = WebhookDelivery.objects.filter(processed_at__isnull=False).get()
    page = admin_client.get(
        f"/admin/alerts/webhookdelivery/{delivery.pk}/change/"
    ).content.decode()
    assert "&quot;truncatedAlerts&quot;: 1" in page
    assert f"opened incident #{processed}" in page
    assert "Alertmanager/0.25.0" in page


def test_process_again_requeues_a_failed_delivery(admin_client, webhook):
    from alerts.models import WebhookDelivery

    webhook.post("a_single_firing")
    WebhookDelivery.objects.update(attempts=10, error="boom")
    admin_client.post(
        "/admin/alerts/webhookdelivery/",
        {
            "action": "process_again",
            "_selected_action": list(
                WebhookDelivery.objects.values_list("pk", flat=True)
            ),
        },
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.error) == (0, "")


def test_maintenance_windows_record_who_made_them(admin_client, team):
    now = timezone.now()
    response = admin_client.post(
        "/admin/alerts/maintenancewindow/add/",
        {
            "team": team.pk,
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": now.strftime("%H:%M:%S"),
            "ends_at_0": (now + timedelta(hours=2)).strftime("%Y-%m-%d"),
            "ends_at_1": (now + timedelta(hours=2)).strftime("%H:%M:%S"),
            "reason": "kernel upgrade",
        },
    )
    assert response.status_code == 302, response.content
    window = MaintenanceWindow.objects.get()
    assert window.created_by.username == "admin"
    assert (
        "kernel upgrade"
        in admin_client.get("/admin/alerts/maintenancewindow/").content.decode()
    )
