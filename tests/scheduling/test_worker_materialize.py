"""The periodic materialization through a real Celery worker and a real Redis."""

from __future__ import annotations

import pytest
from django.utils import timezone

from oncall.celery import BEAT_SCHEDULE, app
from scheduling.models import Shift
from scheduling.selectors import oncall_at
from tests.processes import CeleryWorker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(shared_db_worker) -> CeleryWorker:
    return shared_db_worker(redis_db=4)


def test_beat_schedules_the_materialization_hourly():
    entry = BEAT_SCHEDULE["materialize-shifts"]
    assert entry["task"] == "scheduling.tasks.materialize_shifts"
    assert entry["schedule"] <= 3600


def test_the_worker_materializes_a_new_rotation(
    payments, make_rotation, redis_server, worker
):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    assert not Shift.objects.exists()
    producer = app.__class__("oncall-test-producer", set_as_current=False)
    producer.conf.update(broker_url=f"{redis_server.url}/4", task_serializer="json")
    producer.send_task("scheduling.tasks.materialize_shifts")
    try:
        wait_until(
            lambda: Shift.objects.filter(rotation=rotation).exists(),
            60,
            "the worker to materialize the rotation",
        )
    except TimeoutError:
        print(worker.log())
        raise
    rotation.refresh_from_db()
    assert rotation.generated_until > timezone.now()
    assert oncall_at(team=team, at=timezone.now()).primary is not None
