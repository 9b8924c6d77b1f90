"""The escalation engine: steps in order, on time, once; ack and resolve stop it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.escalation.engine import escalations_advance
from alerts.incidents.escalate import incident_escalate
from alerts.incidents.state import (
    IncidentStateError,
    incident_acknowledge,
    incident_end_maintenance,
    incident_resolve,
)
from alerts.models import Escalation, EscalationStep, Page, TimelineEntry
from alerts.paging.send import pages_send
from alerts.tasks import due_work_publish as escalation_sweep
from tests.alerts.conftest import drive, later, open_incident, pages, sent
from tests.cast import PHONES, policy_create


def test_it_pages_the_primary_as_soon_as_the_incident_opens(integration, policy, alice):
    incident = open_incident(integration)
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.next_action_at <= timezone.now()
    assert escalation.snapshot["name"] == "standard"

    drive()

    assert [(s.kind, s.to) for s in sent()] == [("sms", PHONES["alice"])]
    body = sent()[0].body
    assert body.startswith(f"oncall #{incident.pk} [CRIT] HighErrorRate payments")
    assert body.endswith(
        f" - reply ACK {incident.pk}, RES {incident.pk}, ESC {incident.pk}"
    )
    assert len(body) <= 160
    page = Page.objects.get()
    assert (page.member, page.status, page.step, page.repeat) == (
        alice,
        Page.Status.SENT,
        0,
        0,
    )


def test_it_escalates_after_timeout(integration, policy, alice, bob):
    incident = open_incident(integration)
    drive()
    drive(later(4))
    assert [s.to for s in sent()] == [PHONES["alice"]]  # not yet

    drive(later(5.1))
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]
    assert Escalation.objects.get(pk=incident.pk).state == "exhausted"
    texts = list(incident.timeline.values_list("text", flat=True))
    assert any("step 2: paging Bob" in t for t in texts)
    assert any("exhausted" in t for t in texts)


def test_acknowledge_stops_everything(integration, policy, alice, bob):
    incident = open_incident(integration)
    drive()
    incident_acknowledge(incident=incident, by=alice, via="SMS")

    drive(later(60))

    assert [s.to for s in sent()] == [PHONES["alice"]]
    escalation = Escalation.objects.get(pk=incident.pk)
    assert escalation.state == "stopped"
    assert escalation.next_action_at is None


def test_resolve_stops_everything_including_a_pending_call(
    integration, team, rotation, alice, bob
):
    policy_create(
        team,
        {
            "target": "primary",
            "channel": "sms_then_voice",
            "voice_after": timedelta(minutes=2),
        },
        {"target": "secondary", "channel": "voice", "delay": timedelta(minutes=5)},
        team_default=True,
    )
    incident = open_incident(integration)
    drive()
    assert [(s.kind, s.to) for s in sent()] == [("sms", PHONES["alice"])]
    incident_resolve(incident=incident, by=alice)

    drive(later(60))

    assert len(sent()) == 1
    call = Page.objects.get(channel="voice")
    assert call.status == Page.Status.CANCELLED


def test_sms_then_voice_calls_after_the_wait_unless_acknowledged(
    integration, team, rotation, alice
):
    policy_create(
        team,
        {
            "target": "primary",
            "channel": "sms_then_voice",
            "voice_after": timedelta(minutes=2),
        },
        team_default=True,
    )
    open_incident(integration)
    drive()
    drive(later(1))
    assert [s.kind for s in sent()] == ["sms"]
    drive(later(2.1))
    assert [(s.kind, s.to) for s in sent()] == [
        ("sms", PHONES["alice"]),
        ("call", PHONES["alice"]),
    ]
    call = sent(kind="call")[0]
    page = Page.objects.get(channel="voice")
    assert call.body.endswith(f"/twilio/voice/{page.pk}/")


def test_running_the_sweep_twice_or_the_task_twice_pages_once(
    integration, policy, alice
):
    incident = open_incident(integration)
    now = timezone.now()
    first = escalations_advance(incident_ids=[incident.pk], now=now)[incident.pk]
    second = escalations_advance(incident_ids=[incident.pk], now=now)[incident.pk]
    assert first.startswith("fired 1 step")
    assert second == "not due"

    page = Page.objects.get()
    assert pages_send(page_ids=[page.pk], now=now)[page.pk] == "sent"
    assert pages_send(page_ids=[page.pk], now=now)[page.pk] == "not due"
    drive(now)
    drive(now)
    assert len(sent()) == 1


def test_the_database_refuses_a_second_page_with_the_same_key(
    integration, policy, alice, phones
):
    incident = open_incident(integration)
    drive()
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    page = Page.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Page.objects.create(
            incident=incident,
            cycle=page.cycle,
            step=page.step,
            repeat=page.repeat,
            member=alice,
            channel="sms",
            step_due_at=page.step_due_at,
            due_at=page.due_at,
        )


def test_a_worker_lost_between_claim_and_send_does_not_lose_the_page(
    integration, policy, alice, settings
):
    open_incident(integration)
    now = timezone.now()
    drive_steps_only = escalation_sweep  # noqa: F841 - documents the real entry point
    from alerts.escalation.claims import escalations_claim

    for incident_id in [pk for pk, _ in escalations_claim(now=now, limit=10)]:
        escalations_advance(incident_ids=[incident_id], now=now)[incident_id]
    page = Page.objects.get()
    # The worker claims the page, then dies before talking to Twilio.
    claimed = Page.objects.filter(pk=page.pk, status="queued").update(
        status="sending",
        claimed_until=now + timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS),
        attempts=1,
    )
    assert claimed == 1
    drive(now + timedelta(seconds=10))
    assert sent() == []  # still leased: maybe the worker is only slow

    drive(now + timedelta(seconds=settings.PAGE_SEND_LEASE_SECONDS + 1))
    assert [s.to for s in sent()] == [PHONES["alice"]]
    page.refresh_from_db()
    assert page.status == "sent"
    assert page.attempts == 2


def test_a_step_that_resolves_to_nobody_is_skipped_at_once(
    integration, team, alice, bob
):
    # No rotation: nobody is on call.  The named member step follows at once.
    policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        {
            "target": "member",
            "member": bob,
            "channel": "sms",
            "delay": timedelta(minutes=10),
        },
        team_default=True,
    )
    incident = open_incident(integration)
    drive()
    assert [s.to for s in sent()] == [PHONES["bob"]]
    texts = list(incident.timeline.values_list("text", flat=True))
    assert "step 1 skipped: nobody is on call as primary" in texts


def test_an_inactive_named_member_is_skipped(integration, team, alice, bob):
    bob.active = False
    bob.save()
    policy_create(
        team,
        {"target": "member", "member": bob, "channel": "sms"},
        {
            "target": "member",
            "member": alice,
            "channel": "sms",
            "delay": timedelta(minutes=3),
        },
        team_default=True,
    )
    incident = open_incident(integration)
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"]]
    assert incident.timeline.filter(text="step 1 skipped: Bob is inactive").exists()


def test_the_whole_team_step_pages_every_active_member(
    integration, team, alice, bob, charlie
):
    charlie.active = False
    charlie.save()
    policy_create(team, {"target": "team", "channel": "sms"}, team_default=True)
    open_incident(integration)
    drive()
    assert sorted(s.to for s in sent()) == [PHONES["alice"], PHONES["bob"]]


def test_the_policy_repeats_then_stops_at_its_count(integration, team, rotation):
    policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        repeat=2,
        repeat_after=timedelta(minutes=10),
        team_default=True,
    )
    incident = open_incident(integration)
    drive()
    drive(later(9))
    assert len(sent()) == 1
    drive(later(10.1))
    assert len(sent()) == 2
    drive(later(20.2))
    assert len(sent()) == 3
    drive(later(120))
    assert len(sent()) == 3
    assert [p.repeat for p in pages()] == [0, 1, 2]
    assert Escalation.objects.get(pk=incident.pk).state == "exhausted"


def test_repeat_until_acknowledged_has_a_ceiling(integration, team, rotation, settings):
    settings.ESCALATION_MAX_ROUNDS = 4
    policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        repeat_until_acknowledged=True,
        repeat_after=timedelta(minutes=1),
        team_default=True,
    )
    open_incident(integration)
    for minute in range(0, 30, 1):
        drive(later(minute + 0.5))
    assert len(sent()) == 4


def test_editing_the_policy_does_not_disturb_an_incident_in_flight(
    integration, policy, alice, bob, charlie
):
    open_incident(integration)
    drive()
    EscalationStep.objects.filter(policy=policy, position=1).update(
        target="member", member=charlie, delay=timedelta(hours=3)
    )
    drive(later(5.1))
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]


def test_the_route_policy_wins_over_the_team_default(integration, policy, team, bob):
    route = integration.routes.first()
    route.escalation_policy = policy_create(
        team, {"target": "member", "member": bob, "channel": "sms"}, name="bob only"
    )
    route.save()
    open_incident(integration)
    drive()
    assert [s.to for s in sent()] == [PHONES["bob"]]


def test_without_any_policy_the_built_in_one_pages_the_primary(
    integration, rotation, alice
):
    incident = open_incident(integration)
    drive()
    assert [(s.kind, s.to) for s in sent()] == [("sms", PHONES["alice"])]
    assert incident.timeline.filter(text__contains="built-in default").exists()


def test_an_incident_opened_in_maintenance_pages_nobody_until_it_ends(
    integration, policy, alice
):
    incident = open_incident(integration, in_maintenance=True)
    drive(later(30))
    assert sent() == []
    assert not Escalation.objects.filter(pk=incident.pk).exists()

    with transaction.atomic():
        incident_end_maintenance(incident=incident)
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"]]


def test_escalate_now_fires_the_next_step_at_once(integration, policy, alice, bob):
    incident = open_incident(integration)
    drive()
    incident_escalate(incident=incident, by=alice, via="API")
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]
    entry = incident.timeline.get(kind=TimelineEntry.Kind.ESCALATED)
    assert entry.text == "escalated by Alice via API"
    assert entry.actor == alice


def test_escalating_an_acknowledged_incident_is_refused(integration, policy, alice):
    incident = open_incident(integration)
    incident_acknowledge(incident=incident, by=alice)
    with pytest.raises(IncidentStateError):
        incident_escalate(incident=incident, by=alice)


def test_a_reopened_incident_escalates_again_in_a_new_cycle(integration, policy, alice):
    from alerts.incidents.state import incident_reopen

    incident = open_incident(integration)
    drive()
    incident = incident_resolve(incident=incident)
    with transaction.atomic():
        incident_reopen(incident=incident, reason="fired again")
    drive()
    assert [p.cycle for p in pages()] == [1, 2]
    assert len(sent()) == 2


def test_the_sweep_enqueues_a_due_row_once_per_lease(integration, policy, alice):
    from alerts.escalation.claims import escalations_claim

    incident = open_incident(integration)
    now = timezone.now()
    assert [pk for pk, _ in escalations_claim(now=now, limit=10)] == [incident.pk]
    assert [pk for pk, _ in escalations_claim(now=now, limit=10)] == []
    # The task was lost: after the lease a later sweep enqueues it again.
    assert [
        pk for pk, _ in escalations_claim(now=now + timedelta(seconds=31), limit=10)
    ] == [incident.pk]


def test_time_to_acknowledge_and_resolve(integration, policy, alice):
    opened = timezone.now() - timedelta(minutes=10)
    incident = open_incident(integration, at=opened)
    incident_acknowledge(incident=incident, by=alice, at=opened + timedelta(minutes=3))
    incident = incident_resolve(
        incident=incident, by=alice, at=opened + timedelta(minutes=9)
    )
    assert incident.time_to_acknowledge == timedelta(minutes=3)
    assert incident.time_to_resolve == timedelta(minutes=9)


def test_a_burst_opened_in_bulk_escalates_every_incident(
    integration, policy, team, alice, bob
):
    from dataclasses import replace

    from alerts.incidents.state import IncidentSpec, Opening, incidents_open

    route = integration.routes.first()
    route.escalation_policy = policy_create(
        team, {"target": "member", "member": bob, "channel": "sms"}, name="bob"
    )
    route.save()
    spec = IncidentSpec(
        group_key="g",
        title="Disk: full",
        team_id=team.pk,
        route_id=None,
        routing="test",
        urgency="high",
        group_labels={"alertname": "Disk"},
        common_labels={"alertname": "Disk", "severity": "warning"},
        common_annotations={},
    )
    now = timezone.now()
    with transaction.atomic():
        opened = incidents_open(
            openings=[
                Opening(integration.pk, replace(spec, group_key="a"), now),
                Opening(
                    integration.pk, replace(spec, group_key="b", route_id=route.pk), now
                ),
                Opening(integration.pk, replace(spec, group_key="c"), now, True),
            ]
        )
    drive()
    assert sorted(s.to for s in sent()) == [PHONES["alice"], PHONES["bob"]]
    assert Escalation.objects.get(pk=opened[1].pk).snapshot["name"] == "bob"
    assert not Escalation.objects.filter(pk=opened[2].pk).exists()  # maintenance
    assert "[WARN] Disk payments" in sent(to=PHONES["alice"])[0].body


def test_a_maintenance_window_started_mid_escalation_pauses_it_until_it_ends(
    integration, policy, team, alice, bob
):
    from alerts.incidents.maintenance import maintenance_sweep
    from alerts.models import MaintenanceWindow

    incident = open_incident(integration)
    drive()
    window = MaintenanceWindow.objects.create(
        team=team,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(minutes=30),
        reason="database upgrade",
    )
    drive(later(10))
    assert [s.to for s in sent()] == [PHONES["alice"]]  # bob not paged
    incident.refresh_from_db()
    assert incident.in_maintenance
    assert incident.timeline.filter(text__contains="escalation paused").exists()

    window.ends_at = timezone.now()
    window.save()
    assert maintenance_sweep() == 1
    drive()
    # A new cycle: the primary first again (the incident outlived the window).
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["alice"]]
    assert Escalation.objects.get(pk=incident.pk).cycle == 2


def test_the_sweep_claims_steps_due_before_the_next_sweep_with_their_due_time(
    integration, policy, alice, phones
):
    from alerts.escalation.claims import escalations_claim

    incident = open_incident(integration)
    drive()  # step 1 fired; step 2 due in 5 minutes
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    due = Escalation.objects.get(pk=incident.pk).next_action_at
    now = due - timedelta(seconds=3)
    assert escalations_claim(now=now, limit=10) == []
    claimed = escalations_claim(now=now, limit=10, ahead=timedelta(seconds=5))
    assert claimed == [(incident.pk, due)]
    # Leased until after its due time: the next sweep does not publish it again.
    assert escalations_claim(now=due, limit=10, ahead=timedelta(seconds=5)) == []
    # Run early (clock skew), the step does not fire.
    assert (
        escalations_advance(incident_ids=[incident.pk], now=now)[incident.pk]
        == "not due"
    )
    assert escalations_advance(incident_ids=[incident.pk], now=due)[
        incident.pk
    ].startswith("fired")


def test_a_pending_call_is_cancelled_when_maintenance_starts(
    integration, team, rotation, alice
):
    from alerts.models import MaintenanceWindow

    policy_create(
        team,
        {
            "target": "primary",
            "channel": "sms_then_voice",
            "voice_after": timedelta(minutes=2),
        },
        team_default=True,
    )
    open_incident(integration)
    drive()
    MaintenanceWindow.objects.create(
        team=team,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        reason="failover drill",
    )
    drive(later(3))
    assert [s.kind for s in sent()] == ["sms"]
    assert Page.objects.get(channel="voice").status == "cancelled"
