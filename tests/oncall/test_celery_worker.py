"""A task goes through a real Celery worker and a real Redis."""

from __future__ import annotations

import uuid

import pytest

from oncall.celery import app
from tests.processes import CeleryWorker, django_env


@pytest.fixture
def redis_worker(redis_server, tmp_path):
    env = django_env(
        CELERY_BROKER_URL=f"{redis_server.url}/0",
        CELERY_RESULT_BACKEND=f"{redis_server.url}/1",
    )
    worker = CeleryWorker(env, tmp_path / "worker.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_a_task_round_trips_through_a_real_worker(redis_server, redis_worker):
    producer = app.__class__("oncall-test-producer", set_as_current=False)
    producer.conf.update(
        broker_url=f"{redis_server.url}/0",
        result_backend=f"{redis_server.url}/1",
        task_serializer="json",
        accept_content=["json"],
    )
    token = uuid.uuid4().hex
    result = producer.send_task("oncall.tasks.ping", args=[token])
    try:
        assert result.get(timeout=60) == f"pong:{token}"
    except Exception:
        print(redis_worker.log())
        raise
    assert "oncall.tasks.ping" in redis_worker.log()
