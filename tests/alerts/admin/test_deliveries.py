"""The admin of webhook deliveries: the raw body, the result, processing again."""

from __future__ import annotations

import pytest

from alerts.models import Incident

pytestmark = pytest.mark.django_db


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
