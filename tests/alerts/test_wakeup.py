"""One queued processing task per storm, not one per webhook (alerts/wakeup.py),
against a real Redis."""

from __future__ import annotations

import pytest

from alerts import wakeup
from alerts.deliveries import delivery_process
from alerts.models import WebhookDelivery
from alerts.tasks import process_delivery
from tests.processes import free_port


@pytest.fixture
def published(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        process_delivery, "apply_async", lambda args: calls.append(args[0])
    )
    return calls


@pytest.fixture
def redis_broker(settings, redis_server):
    settings.CELERY_BROKER_URL = f"{redis_server.url}/5"
    client = wakeup._client()
    client.delete(wakeup.KEY)
    yield client
    client.delete(wakeup.KEY)


def test_while_a_task_is_queued_webhooks_publish_nothing(redis_broker, published):
    wakeup.wake_processing(1)
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert published == [1]
    assert 0 < redis_broker.ttl(wakeup.KEY) <= wakeup.TTL


def test_once_the_task_starts_the_next_webhook_publishes_again(redis_broker, published):
    wakeup.wake_processing(1)
    wakeup.queued_task_started()
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert published == [1, 2]


@pytest.mark.django_db
def test_the_task_clears_the_key_before_it_drains(redis_broker, published, webhook):
    first = webhook.post("a_single_firing").json()["delivery"]
    second = webhook.post("b_group_of_three_firing").json()["delivery"]
    assert published == []  # test transactions never commit: no on-commit wake-up
    wakeup.wake_processing(first)
    wakeup.wake_processing(second)
    assert published == [first]  # the second relies on the first's task

    delivery_process(delivery_id=first)  # what that task does

    assert not redis_broker.exists(wakeup.KEY)
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()


def test_with_another_broker_every_webhook_publishes(settings, published):
    settings.CELERY_BROKER_URL = "filesystem://"
    wakeup.wake_processing(1)
    wakeup.wake_processing(2)
    assert published == [1, 2]


def test_an_unreachable_redis_still_tries_to_publish(settings, published):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    wakeup.wake_processing(7)
    assert published == [7]


def test_a_failed_publish_is_logged_not_raised(settings, monkeypatch, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"

    def broken(args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(process_delivery, "apply_async", broken)
    wakeup.wake_processing(7)
    assert "could not enqueue delivery 7" in caplog.text
