"""A real Prometheus Alertmanager posting to a live server: the whole conversation.

Grouping, partial and full resolve, and the Watchdog heartbeat arrive exactly as a
production Alertmanager sends them, with bearer auth from its ``http_config``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.models import Incident, Integration, WebhookDelivery
from tests.alerts.conftest import process_inbox
from tests.cast import TOKEN
from tests.processes import AlertmanagerServer, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def alert(instance: str, *, resolved: bool = False, name: str = "HighLatency") -> dict:
    body = {
        "labels": {
            "alertname": name,
            "service": "checkout",
            "severity": "critical",
            "instance": instance,
        },
        "annotations": {"summary": "p99 latency above 800ms"},
        "generatorURL": "http://prometheus.example/graph",
    }
    if resolved:
        body["endsAt"] = now()
    return body


@pytest.fixture
def alertmanager(live_server, integration, tmp_path):
    config = f"""
route:
  receiver: oncall
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: oncall
  webhook_configs:
  - url: '{live_server.url}/api/v1/alertmanager/'
    send_resolved: true
    max_alerts: 0
    http_config:
      authorization:
        type: Bearer
        credentials: '{TOKEN}'
"""
    server = AlertmanagerServer(tmp_path / "am", config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for_deliveries(count: int, am: AlertmanagerServer) -> None:
    try:
        wait_until(
            lambda: WebhookDelivery.objects.count() >= count,
            20,
            f"{count} webhook deliveries",
        )
    except TimeoutError:
        print(am.log())
        raise


def test_a_real_alertmanager_drives_an_incident_from_firing_to_resolved(
    alertmanager, integration
):
    integration.heartbeat_interval = 5  # Watchdog is the default heartbeat alertname
    integration.save()

    alertmanager.post_alerts(
        [alert("checkout-1"), alert("checkout-2"), alert("wd", name="Watchdog")]
    )
    wait_for_deliveries(2, alertmanager)  # two groups: HighLatency, Watchdog
    process_inbox()
    incident = Incident.objects.get()
    assert incident.status == "triggered"
    assert incident.incident_alerts.count() == 2
    assert Integration.objects.get().heartbeat_last_seen_at is not None

    alertmanager.post_alerts([alert("checkout-1", resolved=True)])
    wait_for_deliveries(3, alertmanager)
    process_inbox()
    incident.refresh_from_db()
    assert incident.status == "triggered"  # checkout-2 still fires
    assert incident.incident_alerts.filter(status="resolved").count() == 1

    alertmanager.post_alerts([alert("checkout-2", resolved=True)])
    wait_for_deliveries(4, alertmanager)
    process_inbox()
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_how == "alerts"
    assert {d.auth for d in WebhookDelivery.objects.all()} == {"bearer"}
    assert "Notify for alerts failed" not in alertmanager.log()
