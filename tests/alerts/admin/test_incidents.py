"""The admin of incidents: alerts, timeline, acknowledge and resolve."""

from __future__ import annotations

import pytest

from tests.alerts.conftest import only_incident

pytestmark = pytest.mark.django_db


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
