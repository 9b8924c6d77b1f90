"""Escalating and paging in batches: one task fires the due steps of many incidents
and sends many pages, with the same rules as one at a time (DESIGN.md invariants 4
and 5) in a fixed number of queries whatever the batch size."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import queue
from alerts.escalation.engine import escalations_advance
from alerts.incidents.state import (
    IncidentSpec,
    Opening,
    incident_acknowledge,
    incidents_open,
)
from alerts.intake.integrations import integration_create
from alerts.models import Escalation, MaintenanceWindow, Page
from alerts.paging.send import pages_send
from alerts.queue import due_chunks
from alerts.transports import TransportError, console
from tests.alerts.conftest import open_incident, sent
from tests.cast import PHONES

_bursts = itertools.count()


def open_burst(integration, count: int, at=None) -> list:
    """``count`` new incidents through the bulk intake path."""
    at = at or timezone.now()
    burst = next(_bursts)
    spec = IncidentSpec(
        group_key="g",
        title="Disk: full",
        team_id=integration.team_id,
        route_id=integration.routes.first().pk,
        routing="test",
        urgency="high",
        group_labels={"alertname": "Disk"},
        common_labels={"alertname": "Disk", "severity": "critical"},
        common_annotations={"summary": "disk full"},
    )
    with transaction.atomic():
        return incidents_open(
            openings=[
                Opening(
                    integration.pk, replace(spec, group_key=f"burst-{burst}-{n}"), at
                )
                for n in range(count)
            ]
        )


def fire(incidents, now):
    return escalations_advance(incident_ids=[i.pk for i in incidents], now=now)


def queued_ids() -> list[int]:
    return list(Page.objects.filter(status="queued").values_list("pk", flat=True))


@pytest.fixture
def no_storm_limit(settings):
    settings.STORM_MAX_PAGES = 0


def test_one_batch_fires_the_first_step_of_many_incidents_and_pages_each_once(
    integration, policy, alice, no_storm_limit
):
    incidents = open_burst(integration, 30)
    now = timezone.now()

    results = fire(incidents, now)

    assert set(results.values()) == {"fired 1 step(s), 1 page(s) to send now"}
    assert fire(incidents, now) == {i.pk: "not due" for i in incidents}
    pages = list(Page.objects.all())
    assert len(pages) == 30
    assert {p.member for p in pages} == {alice}
    sent_results = pages_send(page_ids=[p.pk for p in pages], now=now)
    assert set(sent_results.values()) == {"sent"}
    assert pages_send(page_ids=[p.pk for p in pages], now=now) == dict.fromkeys(
        sent_results, "not due"
    )
    assert len(sent()) == 30
    bodies = {s.body for s in sent()}
    assert {f"oncall #{i.pk} [CRIT]" for i in incidents} == {
        b.split(" Disk")[0] for b in bodies
    }
    for incident in incidents:
        texts = list(incident.timeline.values_list("text", flat=True))
        assert "step 1: paging Alice (the on-call primary by SMS)" in texts
        assert f"SMS to Alice ({PHONES['alice']}) sent" in texts
        escalation = Escalation.objects.get(pk=incident.pk)
        assert (escalation.next_step, escalation.last_step) == (1, 0)
        assert escalation.next_action_at == now + timedelta(minutes=5)


def test_a_batch_leaves_out_acknowledged_incidents_and_pauses_one_in_maintenance(
    team, integration, policy, alice, bob, no_storm_limit
):
    other = integration_create(team=team, name="staging").integration
    acked, plain = open_burst(integration, 2)
    [in_window] = open_burst(other, 1)
    now = timezone.now()
    incident_acknowledge(incident=acked, by=alice)
    MaintenanceWindow.objects.create(
        integration=other,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        reason="failover drill",
    )

    results = fire([acked, in_window, plain], now)

    assert results == {
        acked.pk: "not due",
        in_window.pk: "paused: maintenance window",
        plain.pk: "fired 1 step(s), 1 page(s) to send now",
    }
    assert Page.objects.get().incident_id == plain.pk
    assert Escalation.objects.get(pk=in_window.pk).state == "stopped"
    in_window.refresh_from_db()
    assert in_window.in_maintenance


def test_pages_of_incidents_acknowledged_or_paused_meanwhile_are_not_sent(
    team, integration, policy, alice, no_storm_limit
):
    other = integration_create(team=team, name="staging").integration
    incidents = open_burst(integration, 2) + open_burst(other, 1)
    now = timezone.now()
    fire(incidents, now)
    by_incident = {p.incident_id: p.pk for p in Page.objects.all()}
    acked, plain, in_window = incidents
    incident_acknowledge(incident=acked, by=alice)
    MaintenanceWindow.objects.create(
        integration=other,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        reason="failover drill",
    )

    results = pages_send(page_ids=list(by_incident.values()), now=now)

    assert results == {
        by_incident[acked.pk]: "not due",  # the ack cancelled it
        by_incident[plain.pk]: "sent",
        by_incident[in_window.pk]: "cancelled: maintenance window",
    }
    assert len(sent()) == 1
    assert Page.objects.get(pk=by_incident[in_window.pk]).status == "cancelled"
    assert Escalation.objects.get(pk=in_window.pk).state == "stopped"


def test_the_storm_limit_holds_the_same_pages_in_a_batch_as_one_by_one(
    settings, integration, policy, alice
):
    settings.STORM_MAX_PAGES = 2
    incidents = open_burst(integration, 5)
    now = timezone.now()
    fire(incidents, now)
    ids = sorted(queued_ids())

    results = pages_send(page_ids=ids, now=now)

    assert [results[pk] for pk in ids] == ["sent", "sent", "held", "held", "held"]
    assert len(sent(to=PHONES["alice"])) == 2
    # A second batch counts the first one's pages.
    more = open_burst(integration, 1)
    later = timezone.now()
    fire(more, later)
    assert set(pages_send(page_ids=queued_ids(), now=later).values()) == {"held"}


def test_the_query_count_does_not_grow_with_the_batch(
    settings, integration, policy, alice, no_storm_limit
):
    # One round of requests for the whole batch, so one recording of outcomes.
    settings.PAGE_SEND_CONCURRENCY = 100

    def queries(count: int) -> tuple[int, int]:
        Page.objects.update(status="cancelled")
        console.clear()
        incidents = open_burst(integration, count)
        now = timezone.now()
        with CaptureQueriesContext(connection) as advancing:
            fire(incidents, now)
        with CaptureQueriesContext(connection) as sending:
            pages_send(page_ids=queued_ids(), now=now)
        assert len(sent()) == count
        return len(advancing), len(sending)

    queries(2)  # warm-up: whatever is read once per process
    assert queries(40) == queries(3)


def test_a_burst_opened_in_bulk_publishes_a_few_tasks_of_many_incidents(
    settings,
    integration,
    policy,
    alice,
    published,
    django_capture_on_commit_callbacks,
):
    settings.ESCALATION_TASK_BATCH = 100
    with django_capture_on_commit_callbacks(execute=True):
        incidents = open_burst(integration, 250)
    assert {task.name for task in published} == {queue.ESCALATION_ADVANCE}
    assert [len(task.args[0]) for task in published] == [100, 100, 50]
    assert sorted(pk for task in published for pk in task.args[0]) == sorted(
        i.pk for i in incidents
    )


def test_the_tasks_accept_one_id_as_published_before_they_took_lists(
    integration, policy, alice, no_storm_limit
):
    from alerts.tasks import escalation_advance_task, page_send_task

    incident = open_incident(integration)
    assert escalation_advance_task(incident.pk) == "1 fired"
    page = Page.objects.get()
    assert page_send_task(page.pk) == "1 sent"
    assert page_send_task([page.pk]) == "1 not due"
    assert len(sent()) == 1


def test_due_rows_are_grouped_into_tasks_with_the_last_due_time_as_eta(settings):
    settings.ESCALATION_TASK_BATCH = 3
    now = timezone.now()
    ms = timedelta(milliseconds=1)
    rows = [
        (1, now - 1000 * ms),
        (2, now),
        (3, now - 5 * ms),
        (4, now - 2 * ms),  # four due already: chunks of three
        (5, now + 1000 * ms),
        (6, now + 1050 * ms),  # due within 100 ms of the one before: together
        (7, now + 1300 * ms),
    ]
    assert due_chunks(rows, now=now) == [
        ([1, 3, 4], now),
        ([2], now),
        ([5, 6], now + 1050 * ms),
        ([7], now + 1300 * ms),
    ]


class _OverlapTransport:
    """Passes only if ``parties`` requests are in flight at the same moment."""

    name = "test"

    def __init__(self, barrier: threading.Barrier, fail: set[str]) -> None:
        self.barrier = barrier
        self.fail = fail

    def send_sms(self, *, to, body, status_callback):
        self.barrier.wait()
        if body.split()[1] in self.fail:
            raise TransportError("Twilio answered 503", permanent=False)
        return f"SM-{status_callback.rsplit('=', 1)[1]}"


def test_the_provider_requests_of_a_batch_run_at_the_same_time(
    settings, integration, policy, alice, paging_transport
):
    settings.STORM_MAX_PAGES = 0
    settings.PAGE_SEND_CONCURRENCY = 4
    incidents = open_burst(integration, 4)
    now = timezone.now()
    fire(incidents, now)
    paging_transport(
        _OverlapTransport(
            threading.Barrier(4, timeout=10), fail={f"#{incidents[1].pk}"}
        )
    )

    results = pages_send(page_ids=queued_ids(), now=now)

    failed = Page.objects.get(incident=incidents[1])
    assert results.pop(failed.pk) == "retry: Twilio answered 503"
    assert set(results.values()) == {"sent"}
    assert (failed.status, failed.attempts) == ("queued", 1)
    assert failed.due_at == now + timedelta(seconds=settings.PAGE_RETRY_BASE_SECONDS)
    for page in Page.objects.filter(status="sent"):
        assert page.provider_id == f"SM-{page.pk}"
        assert now <= page.sent_at <= timezone.now()


def test_an_unexpected_error_in_one_request_leaves_that_page_to_the_sweep(
    settings, integration, policy, alice, paging_transport
):
    settings.STORM_MAX_PAGES = 0
    incidents = open_burst(integration, 3)
    now = timezone.now()
    fire(incidents, now)
    broken = Page.objects.get(incident=incidents[0])

    class Flaky:
        name = "flaky"

        def send_sms(self, *, to, body, status_callback):
            if status_callback.endswith(f"={broken.pk}"):
                raise RuntimeError("bug in the transport")
            return "SM-ok"

    paging_transport(Flaky())
    with pytest.raises(RuntimeError):
        pages_send(page_ids=queued_ids(), now=now)
    statuses = dict(Page.objects.values_list("incident_id", "status"))
    assert statuses == {
        incidents[0].pk: "sending",  # the lease runs out, the sweep sends it
        incidents[1].pk: "sent",
        incidents[2].pk: "sent",
    }


@pytest.mark.django_db(transaction=True)
def test_the_escalation_task_sends_the_pages_of_the_steps_it_fired_itself(
    integration, policy, alice, no_storm_limit, published
):
    from alerts.tasks import escalation_advance_task

    incidents = open_burst(integration, 3)

    summary = escalation_advance_task([i.pk for i in incidents])

    assert summary == "3 fired; pages: 3 sent"
    # No paging task: sent by this one, after its commit.
    assert queue.PAGE_SEND not in {task.name for task in published}
    assert len(sent(to=PHONES["alice"])) == 3
    assert set(Page.objects.values_list("status", flat=True)) == {"sent"}


def test_a_status_callback_that_beat_the_record_of_its_send_is_kept(
    settings, integration, policy, alice, monkeypatch, no_storm_limit
):
    from alerts.paging import send as paging
    from alerts.paging.status import page_status_update

    settings.PAGE_SEND_CONCURRENCY = 100
    incidents = open_burst(integration, 3)
    now = timezone.now()
    fire(incidents, now)
    ids = sorted(queued_ids())
    record = paging.sends_record

    def callback_first(jobs, at, results):
        # Twilio's "delivered" for the first page arrives between its request
        # returning and the batch recording it.
        for job in jobs:
            if job.page.pk == ids[0]:
                page = Page.objects.get(pk=ids[0])
                page_status_update(
                    page=page, provider_id=job.provider_id, status="delivered"
                )
        record(jobs, at, results)

    monkeypatch.setattr(paging, "sends_record", callback_first)
    results = pages_send(page_ids=ids, now=now)

    assert set(results.values()) == {"sent"}
    pages = {p.pk: p for p in Page.objects.all()}
    assert [pages[pk].status for pk in ids] == ["delivered", "sent", "sent"]
    assert all(p.provider_id.startswith("console-SM") for p in pages.values())
    assert len({p.provider_id for p in pages.values()}) == 3
    assert len(sent()) == 3


def test_a_page_waiting_for_a_thread_gets_a_longer_lease(
    settings, integration, policy, alice, no_storm_limit
):
    from alerts.paging.send import _claim

    settings.PAGE_SEND_CONCURRENCY = 2
    settings.PAGE_SEND_LEASE_SECONDS = 60
    settings.TWILIO_TIMEOUT_SECONDS = 10
    incidents = open_burst(integration, 5)
    now = timezone.now()
    fire(incidents, now)

    jobs = _claim(sorted(queued_ids()), now, {})

    # Two requests at a time: the fifth page may wait two requests' timeouts for
    # its thread, and must not look lost (and be sent again) meanwhile.
    leases = [(job.page.claimed_until - now).total_seconds() for job in jobs]
    assert leases == [60, 60, 70, 70, 80]
    stored = dict(Page.objects.values_list("pk", "claimed_until"))
    assert [stored[job.page.pk] for job in jobs] == [j.page.claimed_until for j in jobs]
    assert set(Page.objects.values_list("status", flat=True)) == {"sending"}


def test_the_sweep_publishes_what_is_due_in_tasks_of_many_ids(
    settings, integration, policy, alice, published
):
    from alerts.tasks import due_work_publish

    settings.ESCALATION_TASK_BATCH = 100
    incidents = open_burst(integration, 250)  # their commit hooks never ran: lost

    counts = due_work_publish(now=timezone.now())

    assert (counts["steps"], counts["tasks"]) == (250, 3)
    assert {task.name for task in published} == {queue.ESCALATION_ADVANCE}
    assert [len(task.args[0]) for task in published] == [100, 100, 50]
    assert all(task.countdown is None for task in published)  # due: no countdown
    assert sorted(pk for task in published for pk in task.args[0]) == sorted(
        i.pk for i in incidents
    )
