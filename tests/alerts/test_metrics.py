"""/metrics: escalation health (overdue steps, pages not sent yet), the inbox
backlog and open incidents."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Integration, WebhookDelivery
from tests.alerts.conftest import drive, open_incident

pytestmark = pytest.mark.django_db


def gauge(body: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", body, re.M)
    assert match, f"{name} missing"
    return float(match.group(1))


def test_an_overdue_step_and_pending_pages_show_in_metrics(
    client, integration, policy, alice, phones
):

    incident = open_incident(integration)
    body = client.get("/metrics").content.decode()
    assert gauge(body, "oncall_escalation_overdue_seconds") >= 0
    assert 'oncall_pages_pending{status="queued"} 0.0' in body
    from alerts.escalation.engine import escalations_advance
    from alerts.models import Escalation

    escalations_advance(incident_ids=[Escalation.objects.get().pk])
    body = client.get("/metrics").content.decode()
    assert 'oncall_pages_pending{status="queued"} 1.0' in body
    drive()
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    body = client.get("/metrics").content.decode()
    assert 'oncall_pages_pending{status="queued"} 0.0' in body
    assert gauge(body, "oncall_escalation_overdue_seconds") == 0


def gauges(client) -> dict:
    found = {}
    for family in text_string_to_metric_families(
        client.get("/metrics").content.decode()
    ):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_show_the_inbox_backlog_and_open_incidents(client, webhook):
    webhook.send("a_single_firing")
    webhook.post("b_group_of_three_firing")
    WebhookDelivery.objects.create(
        integration=Integration.objects.get(), body="{}", auth="path", attempts=10
    )
    found = gauges(client)
    assert (
        found[("oncall_webhook_deliveries_unprocessed", (("state", "pending"),))] == 1
    )
    assert found[("oncall_webhook_deliveries_unprocessed", (("state", "failed"),))] == 1
    key = (
        "oncall_incidents_open",
        (("status", "triggered"), ("team", "payments"), ("urgency", "high")),
    )
    assert found[key] == 1
