"""One queued processing task per storm, not one per webhook, and most webhooks
of a storm without any Redis call (alerts/intake/wakeup.py), against a real Redis."""

from __future__ import annotations

import time

import pytest

from alerts import queue
from alerts.intake import wakeup
from alerts.intake.drain import delivery_process
from alerts.models import WebhookDelivery
from oncall.celery import app as celery_app
from tests.processes import free_port


def delivery_ids(published: list) -> list[int]:
    """The delivery ids of the processing tasks published."""
    assert {task.name for task in published} <= {queue.PROCESS_DELIVERY}
    return [task.args[0] for task in published]


@pytest.fixture
def redis_broker(settings, redis_server, monkeypatch):
    settings.CELERY_BROKER_URL = f"{redis_server.url}/5"
    wakeup.promise_forget()
    client = wakeup._client()
    client.delete(wakeup.QUEUED_KEY, wakeup.PROMISE_KEY)
    yield client
    client.delete(wakeup.QUEUED_KEY, wakeup.PROMISE_KEY)
    wakeup.promise_forget()


@pytest.fixture
def redis_calls(redis_broker, monkeypatch) -> list[str]:
    """The wake-up round trips the web process makes."""
    calls: list[str] = []
    real = redis_broker.eval

    def counting(script, *args):
        calls.append(script)
        return real(script, *args)

    monkeypatch.setattr(redis_broker, "eval", counting)
    return calls


def test_while_a_task_is_queued_webhooks_publish_nothing(redis_broker, published):
    wakeup.wake_processing(1)
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert delivery_ids(published) == [1]
    assert 0 < redis_broker.ttl(wakeup.QUEUED_KEY) <= wakeup.TTL


def test_once_the_task_starts_the_next_webhook_publishes_again(redis_broker, published):
    wakeup.wake_processing(1)
    wakeup.queued_task_started()
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert delivery_ids(published) == [1, 2]


@pytest.mark.django_db
def test_the_task_clears_the_key_before_it_drains(redis_broker, published, webhook):
    first = webhook.post("a_single_firing").json()["delivery"]
    second = webhook.post("b_group_of_three_firing").json()["delivery"]
    # Test transactions never commit: no on-commit wake-up.
    assert delivery_ids(published) == []
    wakeup.wake_processing(first)
    wakeup.wake_processing(second)
    assert delivery_ids(published) == [first]  # the second relies on the first's task

    delivery_process(delivery_id=first)  # what that task does

    assert not redis_broker.exists(wakeup.QUEUED_KEY)
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()


def test_while_a_drain_promises_a_claim_webhooks_publish_nothing(
    redis_broker, redis_calls, published
):
    wakeup.Drain().promise()  # a task is draining: it will claim again later
    redis_calls.clear()
    wakeup.wake_processing(1)
    assert delivery_ids(published) == []
    assert len(redis_calls) == 1
    # The promise is remembered: the next webhooks do not even ask Redis.
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert delivery_ids(published) == [] and len(redis_calls) == 1


def test_past_the_promise_webhooks_fall_back_to_the_queued_task_key(
    redis_broker, published, monkeypatch
):
    wakeup.Drain().promise()
    wakeup.wake_processing(1)
    assert delivery_ids(published) == []
    # Later than the promise, less the clock margin: nobody can rely on it.
    later = time.time() + wakeup.PROMISE_SECONDS
    monkeypatch.setattr(wakeup, "now", lambda: later)
    wakeup.wake_processing(2)
    wakeup.wake_processing(3)
    assert delivery_ids(published) == [2]


def test_a_draining_task_stops_only_after_a_claim_at_or_after_its_promise(
    redis_broker, monkeypatch
):
    """What lets webhooks skip Redis: whatever committed before the promised time
    is claimed by the task's last claim."""
    from alerts.intake import drain

    claims: list[float] = []
    pending = [3, 0, 2]  # work, then a quiet moment, then late work, then none

    def claim(limit):
        claims.append(time.time())
        return pending.pop(0) if pending else 0

    monkeypatch.setattr(drain, "deliveries_process_batch", claim)
    started = time.time()
    assert drain.deliveries_drain() == 5
    promised = float(redis_broker.get(wakeup.PROMISE_KEY))
    assert promised > started
    assert claims[-1] >= promised  # the last claim kept the promise
    assert len(claims) == 5  # work, empty (too early), late work, empty, kept


def test_with_another_broker_every_webhook_publishes(settings, published):
    settings.CELERY_BROKER_URL = "filesystem://"
    wakeup.wake_processing(1)
    wakeup.wake_processing(2)
    assert delivery_ids(published) == [1, 2]


def test_an_unreachable_redis_still_tries_to_publish(settings, published):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    wakeup.wake_processing(7)
    assert delivery_ids(published) == [7]


def test_a_failed_publish_is_logged_not_raised(settings, monkeypatch, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"

    def broken(name, args, **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(celery_app, "send_task", broken)
    wakeup.wake_processing(7)
    assert "could not publish alerts.tasks.process_delivery(7,)" in caplog.text
