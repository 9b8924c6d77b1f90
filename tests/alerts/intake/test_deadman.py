"""Dead man's switch: when the heartbeat alert stops arriving, we open an incident.

No Watchdog payload was recorded, so these tests name a recorded alert as the
heartbeat (the alertname is configurable); test_real_alertmanager.py sends a real
Watchdog through a real Alertmanager.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.intake.deadman import deadman_check as heartbeats_check
from alerts.models import Incident, WebhookDelivery
from tests.alerts.conftest import only_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def switch(integration):
    integration.heartbeat_alertname = "HighErrorRate"
    integration.heartbeat_interval = 5
    integration.save()
    return integration


def test_a_heartbeat_is_recorded_and_opens_no_incident(webhook, switch):
    [result] = webhook.send("a_single_firing")
    switch.refresh_from_db()
    assert result == "heartbeat"
    assert switch.heartbeat_last_seen_at == WebhookDelivery.objects.get().received_at
    assert not Incident.objects.exists()


def test_the_switch_is_armed_by_the_first_heartbeat(switch):
    assert heartbeats_check(now=timezone.now() + timedelta(days=1)) == []


def test_a_missing_heartbeat_opens_one_high_urgency_incident(webhook, switch):
    webhook.send("a_single_firing")
    switch.refresh_from_db()
    late = switch.heartbeat_last_seen_at + timedelta(minutes=6)

    assert heartbeats_check(now=switch.heartbeat_last_seen_at) == []
    [incident_id] = heartbeats_check(now=late)
    assert heartbeats_check(now=late + timedelta(minutes=5)) == []  # already open

    incident = only_incident()
    assert incident.pk == incident_id
    assert incident.source == "heartbeat"
    assert incident.urgency == "high"
    assert incident.team == switch.team
    assert incident.title.startswith("No HighErrorRate heartbeat from prod for 6 min")
    assert "dead man's switch" in incident.timeline.first().text


def test_the_heartbeat_coming_back_resolves_the_switch_incident(webhook, switch):
    webhook.send("a_single_firing")
    switch.refresh_from_db()
    heartbeats_check(now=switch.heartbeat_last_seen_at + timedelta(minutes=10))
    assert only_incident().status == "triggered"

    webhook.send("a_single_firing")
    incident = only_incident()
    assert incident.status == "resolved"
    assert incident.resolved_how == "heartbeat"


def test_a_disabled_integration_does_not_page_for_silence(webhook, switch):
    webhook.send("a_single_firing")
    switch.refresh_from_db()
    switch.enabled = False
    switch.save()
    assert heartbeats_check(now=timezone.now() + timedelta(hours=1)) == []


def test_other_alerts_of_the_integration_still_open_incidents(webhook, switch):
    webhook.send("b_group_of_three_firing")
    assert only_incident().title.startswith("HighLatency")
