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


def test_pages_sleep_hour_pages_and_time_to_acknowledge_per_team(
    client, integration, policy, alice, phones
):
    from datetime import timedelta

    from django.utils import timezone

    from alerts.incidents.state import incident_acknowledge

    alice.time_zone = "UTC"
    alice.save()
    now = timezone.now()
    incident = open_incident(integration, at=now)
    drive(now)
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    incident_acknowledge(incident=incident, by=alice, at=now + timedelta(minutes=4))

    families = {
        f.name: f
        for f in text_string_to_metric_families(client.get("/metrics").content.decode())
    }
    [sent] = [
        s for s in families["oncall_pages_sent"].samples if s.name.endswith("_total")
    ]
    assert (sent.labels, sent.value) == ({"team": "payments", "channel": "sms"}, 1.0)
    [sleep] = families["oncall_sleep_hour_pages_7d"].samples
    hour = now.hour
    assert sleep.value == (1.0 if hour >= 22 or hour < 8 else 0.0)
    tta = {
        (s.name, s.labels.get("le")): s.value
        for s in families["oncall_incident_time_to_acknowledge_seconds"].samples
    }
    name = "oncall_incident_time_to_acknowledge_seconds"
    assert tta[(f"{name}_bucket", "60.0")] == 0.0
    assert tta[(f"{name}_bucket", "300.0")] == 1.0
    assert tta[(f"{name}_count", None)] == 1.0
    assert tta[(f"{name}_sum", None)] == 240.0


def test_each_evaluated_slos_budget_and_burn_rates_show(client, slo, service):
    from alerts.slos.evaluate import slo_evaluate
    from alerts.slos.setup import slo_create

    slo_create(service=service, name="never evaluated", objective="99")
    slo_evaluate(slo=slo)
    families = {
        f.name: f
        for f in text_string_to_metric_families(client.get("/metrics").content.decode())
    }
    [budget] = families["oncall_slo_budget_remaining"].samples
    assert (budget.labels, budget.value) == (
        {"service": "payments-api", "slo": "availability"},
        1.0,
    )
    burns = {
        s.labels["window"]: s.value for s in families["oncall_slo_burn_rate"].samples
    }
    assert burns == {"1h": 0.0, "6h": 0.0}
    [stale] = families["oncall_slo_evaluation_stale"].samples
    assert stale.value == 0.0
