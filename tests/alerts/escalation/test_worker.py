"""Escalation through a real Celery worker and beat against a real Redis, paging
through the Twilio transport into the local fake Twilio (DESIGN.md invariants 4
and 5): the primary, then the secondary after the step delay; ack and resolve
stop everything; duplicated tasks and a worker killed mid-send neither duplicate
nor lose a page."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction

from alerts import queue
from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.models import Escalation, Page
from alerts.tasks import escalation_advance_task, page_send_task
from oncall.celery import app
from tests.alerts.conftest import open_incident
from tests.cast import PHONES, policy_create
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from tests.processes import REPO, CeleryWorker, django_env, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STEP_DELAY = 3  # seconds between the primary and the secondary
LONG_STEP_DELAY = timedelta(hours=1)
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
def twilio(twilio_server) -> FakeTwilio:
    """The fake Twilio the worker pages through, watched by ``phones``."""
    return twilio_server


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


def primary_then_secondary(team, delay: timedelta):
    return policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        {"target": "secondary", "channel": "sms", "delay": delay},
        team_default=True,
    )


@pytest.fixture
def chain(team, rotation, integration):
    return primary_then_secondary(team, timedelta(seconds=STEP_DELAY))


@pytest.fixture
def long_chain(team, rotation, integration):
    """The secondary's step comes long after the test is over: an ack or resolve
    on a busy machine still comes before it, and the test waits for nothing."""
    return primary_then_secondary(team, LONG_STEP_DELAY)


def to(twilio: FakeTwilio, name: str) -> list:
    return twilio.messages(to=PHONES[name])


def idle() -> bool:
    """Nothing left to do, by the database and by the broker: no escalation with a
    step to come, no page waiting or being sent, no message queued in Redis, and
    the worker holds no task (running, reserved or with a countdown).  What the
    sweep could still do is decided by the first two; the rest are messages in
    flight, duplicates included, that must have run before we look."""
    if Escalation.objects.filter(state=Escalation.State.ACTIVE).exists():
        return False
    if Page.objects.filter(status__in=["queued", "sending"]).exists():
        return False
    with app.connection_for_write() as connection:
        if connection.default_channel.client.llen("celery"):
            return False
    inspect = app.control.inspect(timeout=1.0)
    replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    if any(reply is None for reply in replies):
        return False  # the worker did not answer yet: busy
    return not any(tasks for reply in replies for tasks in reply.values())


def settle(what: str) -> None:
    """Wait (bounded) until the worker is idle: then nothing more can be sent."""
    wait_until(idle, 60, f"the worker to be idle after {what}", interval=0.2)


def test_it_pages_the_primary_then_the_secondary_after_the_step_delay(
    stack, chain, integration, twilio, phones
):
    incident = open_incident(integration)
    wait_until(lambda: len(to(twilio, "bob")) == 1, 60, "the secondary's SMS")
    settle("the last step")
    # In order: the primary first, the secondary after her, and nothing else.
    assert [m.to for m in twilio.messages()] == [PHONES["alice"], PHONES["bob"]]
    assert f"#{incident.pk} [CRIT]" in to(twilio, "alice")[0].body
    incident.refresh_from_db()
    alice, bob = Page.objects.order_by("step")
    assert [(p.member.username, p.status, p.step) for p in (alice, bob)] == [
        ("alice", "sent", 0),
        ("bob", "sent", 1),
    ]
    # The causes, not the clock: the first step was due when the incident opened,
    # the second a step delay after the first fired (alice's page is due when its
    # step fired), and its page did not go out before that; each
    # page went out from the task that fired its step ("at once"), none was left
    # for a later sweep to send.
    assert alice.step_due_at == incident.opened_at
    assert bob.step_due_at == alice.due_at + timedelta(seconds=STEP_DELAY)
    assert (
        alice.step_due_at
        <= alice.due_at
        <= alice.sent_at
        <= bob.step_due_at
        <= bob.due_at
        <= bob.sent_at
    )
    log = stack[1][0].log()
    fired_and_sent = re.findall(
        rf"{queue.ESCALATION_ADVANCE}\[[^]]+\] succeeded in [^:]+: "
        r"'1 fired; pages: 1 sent'",
        log,
    )
    assert len(fired_and_sent) == 2, log
    page_task_sent = rf"{queue.PAGE_SEND}\[[^]]+\] succeeded in [^:]+: '\d+ sent"
    assert not re.search(page_task_sent, log), log
    escalation = Escalation.objects.get(pk=incident.pk)
    assert escalation.state == Escalation.State.EXHAUSTED  # the policy ran once


@pytest.mark.parametrize("how", ["ack", "resolve"])
def test_ack_or_resolve_stops_everything(
    stack, long_chain, integration, twilio, alice, how
):
    incident = open_incident(integration)
    wait_until(lambda: len(to(twilio, "alice")) == 1, 60, "the primary's SMS")
    if how == "ack":
        incident_acknowledge(incident=incident, by=alice, via="SMS")
    else:
        incident_resolve(incident=incident, by=alice)
    settle(how)
    assert [m.to for m in twilio.messages()] == [PHONES["alice"]]
    escalation = Escalation.objects.get(pk=incident.pk)
    assert escalation.state == Escalation.State.STOPPED
    # Stopped before the secondary's step came due: nobody else was ever paged.
    assert escalation.stopped_at < escalation.started_at + LONG_STEP_DELAY
    assert list(Page.objects.values_list("member__user__username", "step")) == [
        ("alice", 0)
    ]


def test_duplicated_tasks_and_sweeps_send_each_page_once(
    stack, chain, integration, twilio
):
    with transaction.atomic():
        incident = open_incident(integration)
        # The broker delivers the first step's task three times over.
        for _ in range(3):
            transaction.on_commit(lambda: escalation_advance_task.delay(incident.pk))
    wait_until(lambda: len(to(twilio, "alice")) == 1, 60, "the primary's SMS")
    page = Page.objects.get(member__user__username="alice")
    for _ in range(3):
        page_send_task.delay(page.pk)
        escalation_advance_task.delay(incident.pk)
    wait_until(lambda: len(to(twilio, "bob")) == 1, 60, "the secondary's SMS")
    settle("the duplicates")
    assert sorted(m.to for m in twilio.messages()) == [PHONES["alice"], PHONES["bob"]]


def test_a_worker_killed_between_claim_and_send_neither_loses_nor_repeats_the_page(
    stack, chain, integration, twilio
):
    start_worker, workers = stack
    # Twilio hangs on the first request: the worker has claimed the page and is
    # inside the send when it is killed.
    twilio.stall_next(1, seconds=20)
    open_incident(integration)
    wait_until(lambda: len(twilio.rejected) == 1, 60, "the first send to start")
    claimed = Page.objects.get(member__user__username="alice")
    assert (claimed.status, claimed.attempts) == ("sending", 1)
    workers[0].kill()

    start_worker()
    wait_until(lambda: len(to(twilio, "bob")) == 1, 60, "the secondary's SMS")
    settle("the restart")
    assert len(to(twilio, "alice")) == 1
    page = Page.objects.get(member__user__username="alice")
    assert (page.status, page.attempts) == ("sent", 2)
    # Sent again only once the dead worker's lease ran out, not before.
    assert page.sent_at >= claimed.claimed_until
