"""The admin's import runs through a real Celery worker and a real Redis: the page
starts it, the worker imports from the fake PagerDuty, and the run's page shows
"1344/1344 hours agree".  The worker's log never holds the token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from alerts.models import ImportRun
from oncall.celery import app
from scheduling.models import Rotation
from tests.alerts.importers.pagerduty_org import organisation
from tests.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = f"pd-{secrets.token_hex(16)}"


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process' Celery producer (the web process) at ``url``."""
    saved = app.conf.broker_url

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = saved
        reset()


@pytest.fixture
def fake():
    fake = organisation(timezone.now())
    fake.token = TOKEN
    server, url = fake.serve()
    fake.url = url
    yield fake
    server.shutdown()
    server.server_close()


def test_an_import_started_in_the_admin_runs_in_a_worker(
    client, fake, redis_server, shared_db_worker
):
    worker = shared_db_worker(redis_db=5)
    client.force_login(get_user_model().objects.create_superuser("ops"))
    with broker(f"{redis_server.url}/5"):
        answer = client.post(
            "/admin/alerts/importrun/add/",
            {"source": "pagerduty", "url": fake.url, "token": TOKEN, "team": ""},
        )
    assert answer.status_code == 302
    run = ImportRun.objects.get()
    try:
        wait_until(
            lambda: ImportRun.objects.filter(
                pk=run.pk, finished_at__isnull=False
            ).exists(),
            180,
            "the worker to finish the import",
        )
    except TimeoutError:
        print(worker.log())
        raise
    run.refresh_from_db()
    assert run.status == "succeeded", (run.error, worker.log())
    assert (run.done, run.total) == (2, 2)
    assert run.started_at is not None and run.started_at <= run.finished_at

    page = client.get(reverse("admin:alerts_importrun_change", args=[run.pk]))
    text = page.content.decode()
    assert "faithfulness payments: 1344/1344 hours agree" in text
    assert "faithfulness platform: 1344/1344 hours agree" in text
    assert Rotation.objects.filter(team__slug="payments").exists()
    status = client.get(reverse("admin:alerts_importrun_status", args=[run.pk]))
    assert status.json()["finished"] is True and status.json()["percent"] == 100

    log = worker.log()
    assert "alerts.tasks.import_run" in log  # the worker did run it
    assert TOKEN not in log
