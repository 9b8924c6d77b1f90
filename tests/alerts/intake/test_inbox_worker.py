"""Intake through a real Celery worker and a real Redis, including the broker being
down when Alertmanager posts (DESIGN.md invariant 3: nothing accepted is lost)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.intake.inbox import deliveries_sweep
from alerts.models import Incident, WebhookDelivery
from oncall.celery import app
from tests.processes import CeleryWorker, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process' Celery producer at ``url`` (the web process' view)."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = url
    app.conf.broker_transport_options = {"socket_connect_timeout": 1}
    reset()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = saved
        reset()


@pytest.fixture
def worker(shared_db_worker) -> CeleryWorker:
    return shared_db_worker(redis_db=2)


def test_a_webhook_accepted_while_the_broker_is_down_is_processed_by_the_sweep(
    webhook, redis_server, worker, caplog
):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    with broker(dead_broker):
        response = webhook.post("b_group_of_three_firing")
    assert response.status_code == 202  # stored: the broker being down is our problem
    assert "could not publish alerts.tasks.process_delivery" in caplog.text
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is None
    assert not Incident.objects.exists()

    with broker(f"{redis_server.url}/2"):
        # The periodic sweep, a minute later, on a web or beat host with a broker.
        assert deliveries_sweep(now=timezone.now() + timedelta(minutes=2)) == 1
        try:
            wait_until(
                lambda: Incident.objects.filter(status="triggered").exists(),
                60,
                "the worker to open the incident",
            )
        except TimeoutError:
            print(worker.log())
            raise

        # With the broker back, the next notification is processed on its own.
        response = webhook.post("c_group_partial_resolve")
        assert response.status_code == 202
        wait_until(
            lambda: (
                not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
            ),
            60,
            "the worker to process the partial resolve",
        )

    incident = Incident.objects.get()
    assert incident.status == "triggered"
    assert incident.incident_alerts.filter(status="resolved").count() == 1
    assert "alerts.tasks.process_delivery" in worker.log()
