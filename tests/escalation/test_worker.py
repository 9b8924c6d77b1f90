"""Escalation through a real Celery worker and beat against a real Redis, paging
through the Twilio transport into the local fake Twilio (DESIGN.md invariants 4
and 5): the primary, then the secondary after the step delay; ack and resolve
stop everything; duplicated tasks and a worker killed mid-send neither duplicate
nor lose a page."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction

from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.models import Page
from alerts.tasks import escalation_advance_task, page_send_task
from oncall.celery import app
from tests.escalation.conftest import PHONES, add_policy, open_incident
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from tests.processes import REPO, CeleryWorker, django_env, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STEP_DELAY = 3  # seconds between the primary and the secondary
LEASE = 4  # PAGE_SEND_LEASE_SECONDS in the worker


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process' Celery producer at ``url`` (what the web process does)."""
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


class Beat:
    def __init__(self, env: dict[str, str], workdir) -> None:
        self._log = open(workdir / "beat.log", "ab")  # closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oncall",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(workdir / "beat-schedule"),
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        stop(self.proc)
        self._log.close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def stack(redis_server, twilio, tmp_path):
    """A worker and a beat sharing the test database, a Redis broker, fake Twilio."""
    db_name = settings.DATABASES["default"]["NAME"]
    assert "memory" not in str(db_name), "the worker needs a file database"
    broker_url = f"{redis_server.url}/5"
    redis_cli = ["redis-cli", "-p", str(redis_server.port), "-n", "5", "FLUSHDB"]
    subprocess.run(redis_cli, check=False, capture_output=True)
    env = django_env(
        DATABASE_URL=f"sqlite:///{db_name}",
        CELERY_BROKER_URL=broker_url,
        ONCALL_DATA_DIR=str(tmp_path / "data"),
        PAGING_TRANSPORT="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=twilio.url,
        TWILIO_TIMEOUT_SECONDS="2",
        PAGE_SEND_LEASE_SECONDS=str(LEASE),
        ESCALATION_SWEEP_SECONDS="1",
        ESCALATION_ENQUEUE_LEASE_SECONDS="3",
    )
    workers: list[CeleryWorker] = []

    def start_worker() -> CeleryWorker:
        worker = CeleryWorker(env, tmp_path / f"worker{len(workers)}.log")
        worker.start()
        workers.append(worker)
        return worker

    start_worker()
    beat = Beat(env, tmp_path)
    with broker(broker_url):
        try:
            yield start_worker, workers
        except BaseException:
            for worker in workers:
                print(worker.log())
            raise
        finally:
            beat.stop()
            for worker in workers:
                worker.stop()


@pytest.fixture
def chain(team, rotation, integration):
    return add_policy(
        team,
        {"target": "primary", "channel": "sms"},
        {
            "target": "secondary",
            "channel": "sms",
            "delay": timedelta(seconds=STEP_DELAY),
        },
        team_default=True,
    )


def to(twilio: FakeTwilio, name: str) -> list:
    return twilio.messages(to=PHONES[name])


def test_it_pages_the_primary_then_the_secondary_after_the_step_delay(
    stack, chain, integration, twilio
):
    started = time.monotonic()
    incident = open_incident(integration)
    wait_until(lambda: len(to(twilio, "alice")) == 1, 30, "the primary's SMS")
    wait_until(lambda: len(to(twilio, "bob")) == 1, 30, "the secondary's SMS")
    alice, bob = to(twilio, "alice")[0], to(twilio, "bob")[0]
    assert alice.received_at - started < STEP_DELAY  # at once, not after a sweep
    assert bob.received_at - alice.received_at >= STEP_DELAY - 0.5
    assert f"#{incident.pk} [CRIT]" in alice.body
    time.sleep(2)
    assert len(twilio.messages()) == 2  # nothing more: the policy ran once
    pages = list(Page.objects.order_by("step"))
    assert [(p.member.username, p.status) for p in pages] == [
        ("alice", "sent"),
        ("bob", "sent"),
    ]


@pytest.mark.parametrize("how", ["ack", "resolve"])
def test_ack_or_resolve_stops_everything(stack, chain, integration, twilio, alice, how):
    incident = open_incident(integration)
    wait_until(lambda: len(to(twilio, "alice")) == 1, 30, "the primary's SMS")
    if how == "ack":
        incident_acknowledge(incident=incident, by=alice, via="SMS")
    else:
        incident_resolve(incident=incident, by=alice)
    time.sleep(STEP_DELAY + 3)
    assert [m.to for m in twilio.messages()] == [PHONES["alice"]]


def test_duplicated_tasks_and_sweeps_send_each_page_once(
    stack, chain, integration, twilio
):
    with transaction.atomic():
        incident = open_incident(integration)
        # The broker delivers the first step's task three times over.
        for _ in range(3):
            transaction.on_commit(lambda: escalation_advance_task.delay(incident.pk))
    wait_until(lambda: len(to(twilio, "alice")) == 1, 30, "the primary's SMS")
    page = Page.objects.get(member__user__username="alice")
    for _ in range(3):
        page_send_task.delay(page.pk)
        escalation_advance_task.delay(incident.pk)
    wait_until(lambda: len(to(twilio, "bob")) == 1, 30, "the secondary's SMS")
    time.sleep(2)
    assert sorted(m.to for m in twilio.messages()) == [PHONES["alice"], PHONES["bob"]]


def test_a_worker_killed_between_claim_and_send_neither_loses_nor_repeats_the_page(
    stack, chain, integration, twilio
):
    start_worker, workers = stack
    # Twilio hangs on the first request: the worker has claimed the page and is
    # inside the send when it is killed.
    twilio.stall_next(1, seconds=20)
    open_incident(integration)
    wait_until(lambda: len(twilio.rejected) == 1, 30, "the first send to start")
    assert Page.objects.get(member__user__username="alice").status == "sending"
    workers[0].kill()
    killed_at = time.monotonic()

    start_worker()
    wait_until(lambda: len(to(twilio, "alice")) == 1, 60, "the page to go out again")
    assert time.monotonic() - killed_at >= LEASE - 1  # not before the lease ran out
    wait_until(lambda: len(to(twilio, "bob")) == 1, 30, "the secondary's SMS")
    time.sleep(2)
    assert len(to(twilio, "alice")) == 1
    page = Page.objects.get(member__user__username="alice")
    assert (page.status, page.attempts) == ("sent", 2)
