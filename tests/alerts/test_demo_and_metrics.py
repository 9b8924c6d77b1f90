"""The demo integration (DESIGN.md §5) and the alert gauges on /metrics."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Integration, WebhookDelivery
from tests.alerts.conftest import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo command only runs with DEBUG on


def test_the_demo_integration_takes_its_token_from_the_environment(
    settings, client, capsys
):
    settings.ONCALL_DEMO_TOKEN = "demo-token-from-env"
    call_command("oncall_demo")
    out = capsys.readouterr().out
    assert "/api/v1/alertmanager/demo-token-from-env/" in out
    assert (
        Webhook(client, "demo-token-from-env").post("a_single_firing").status_code
        == 202
    )
    integration = Integration.objects.get(name="alertmanager")
    assert integration.team.slug == "payments"
    assert integration.routes.count() == 2  # critical|page, then the catch-all


def test_without_a_token_it_prints_a_random_one_once_and_stays_idempotent(
    settings, client, capsys
):
    settings.ONCALL_DEMO_TOKEN = ""
    call_command("oncall_demo")
    first = capsys.readouterr().out
    line = next(x for x in first.splitlines() if "Alertmanager webhook:" in x)
    token = line.rstrip("/").rsplit("/", 1)[1]
    call_command("oncall_demo")
    second = capsys.readouterr().out
    assert "exists; its token was printed when it was made" in second
    assert Integration.objects.count() == 1
    assert Webhook(client, token).post("a_single_firing").status_code == 202


def test_changing_the_env_token_takes_over_on_the_next_load(settings, client):
    settings.ONCALL_DEMO_TOKEN = "first-token-aaaaaaaa"
    call_command("oncall_demo")
    settings.ONCALL_DEMO_TOKEN = "second-token-bbbbbbb"
    call_command("oncall_demo")
    assert (
        Webhook(client, "first-token-aaaaaaaa").post("a_single_firing").status_code
        == 401
    )
    assert (
        Webhook(client, "second-token-bbbbbbb").post("a_single_firing").status_code
        == 202
    )


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
