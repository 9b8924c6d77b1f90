"""Drafting at real shift boundaries of the demo rotation: who hands to whom,
what the note holds, and one note per boundary and role however the task runs."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.handoff.actions import handoff_edit
from alerts.handoff.boundaries import boundaries_between
from alerts.handoff.draft import handoff_draft, handoffs_draft_due, handoffs_draft_for
from alerts.handoff.markdown import handoff_markdown
from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.models import HandoffNote, HandoffSettings, MaintenanceWindow
from scheduling.overrides import override_create
from tests.alerts.conftest import drive, open_incident
from tests.alerts.handoff.conftest import FIRST_CHANGE, SECOND_CHANGE
from tests.cast import integration_create, policy_create, utc

pytestmark = pytest.mark.django_db


def _by_role(notes):
    return {n.role: n for n in notes}


def test_the_first_change_hands_primary_and_secondary_separately(demo):
    team, rotation, *_ = demo
    found = boundaries_between(team=team, start=utc(2026, 1, 5), end=utc(2026, 1, 13))
    assert [
        (b.role, b.outgoing.username, b.incoming.username, b.at) for b in found
    ] == [
        ("primary", "alice", "charlie", FIRST_CHANGE),
        ("secondary", "bob", "david", FIRST_CHANGE),
    ]
    primary = found[0]
    assert primary.shift_start == utc(2026, 1, 5, 6)
    assert primary.next_shift_end == SECOND_CHANGE


def test_a_note_holds_the_open_incidents_pages_and_next_maintenance(demo, cast, phones):
    team, rotation, integration, _ = demo
    alice = cast["alice"]
    # Saturday noon: paged, resolved an hour later -- counted, not open.
    calm = open_incident(integration, alertname="DiskFull", at=utc(2026, 1, 10, 12))
    drive(utc(2026, 1, 10, 12))
    incident_resolve(incident=calm, by=alice, at=utc(2026, 1, 10, 13))
    # Sunday 23:30 UTC (alice's zone): a sleep-hour page, acknowledged, still open.
    night = open_incident(
        integration, alertname="HighErrorRate", at=utc(2026, 1, 11, 23, 30)
    )
    drive(utc(2026, 1, 11, 23, 30))
    incident_acknowledge(incident=night, by=alice, at=utc(2026, 1, 11, 23, 40))
    assert len(phones.sent(to="alice")) == 2
    # After the change: not in this note.
    open_incident(integration, alertname="Later", at=utc(2026, 1, 12, 7))
    MaintenanceWindow.objects.create(
        team=team,
        starts_at=utc(2026, 1, 14, 8),
        ends_at=utc(2026, 1, 14, 10),
        reason="database upgrade",
    )
    MaintenanceWindow.objects.create(
        team=team,
        starts_at=utc(2026, 1, 20, 8),
        ends_at=utc(2026, 1, 20, 10),
        reason="after the next shift",
    )
    override_create(
        rotation=rotation,
        role="secondary",
        member=cast["eve"],
        starts_at=utc(2026, 1, 14, 6),
        ends_at=utc(2026, 1, 15, 6),
        reason="david at a wedding",
        created_by=None,
    )

    notes = _by_role(
        handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7))
    )

    assert set(notes) == {"primary", "secondary"}
    note = notes["primary"]
    assert (note.outgoing.username, note.incoming.username) == ("alice", "charlie")
    assert note.status == "draft"
    assert note.open_incidents == [
        {
            "id": night.pk,
            "title": night.title,
            "urgency": "high",
            "status": "acknowledged",
            "opened_at": utc(2026, 1, 11, 23, 30).isoformat(),
            "age_seconds": int(dt.timedelta(hours=6, minutes=30).total_seconds()),
            "acknowledged_by": "alice",
        }
    ]
    assert note.pages["count"] == 2
    assert note.pages["sleep_hours"] == 1
    assert note.pages["still_open"] == [night.pk]
    assert note.pages["noisiest"] == [
        {"alertname": "DiskFull", "pages": 1},
        {"alertname": "HighErrorRate", "pages": 1},
    ]
    # In order of start: eve from 06:00, the window from 08:00.
    assert [m["text"] for m in note.maintenance] == [
        "eve covers secondary of weekly: david at a wedding",
        "Maintenance window: database upgrade",
    ]
    # David's stint ends when eve covers him: his note looks only that far.
    secondary = notes["secondary"]
    assert secondary.next_shift_end == utc(2026, 1, 14, 6)
    assert secondary.maintenance == []
    assert secondary.pages["count"] == 0


def test_noisiest_alerts_are_grouped_by_alertname_not_incident_title(
    demo, cast, phones
):
    team, rotation, integration, _ = demo
    # A flapping alert opens a new incident each time it fires again: three
    # incidents (three titles), one alert name.
    for hour in (10, 12, 14):
        flap = open_incident(
            integration,
            alertname="QueueBacklog",
            summary=f"backlog at {hour}:00",
            at=utc(2026, 1, 10, hour),
        )
        drive(utc(2026, 1, 10, hour))
        incident_resolve(incident=flap, by=cast["alice"], at=utc(2026, 1, 10, hour, 5))
    once = open_incident(integration, alertname="DiskFull", at=utc(2026, 1, 10, 16))
    drive(utc(2026, 1, 10, 16))
    incident_resolve(incident=once, by=cast["alice"], at=utc(2026, 1, 10, 16, 5))

    note = _by_role(
        handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7))
    )["primary"]

    assert len(phones.sent(to="alice")) == 4
    assert note.pages["count"] == 4
    assert note.pages["noisiest"] == [
        {"alertname": "QueueBacklog", "pages": 3},
        {"alertname": "DiskFull", "pages": 1},
    ]
    assert "- Noisiest: QueueBacklog (3), DiskFull (1)" in handoff_markdown(note)


def test_watch_items_carry_forward_until_removed(demo):
    team, *_ = demo
    first = _by_role(
        handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7))
    )["primary"]
    handoff_edit(
        note=first,
        ongoing=[
            {"text": "payments-api p99 creeping up", "watch": True},
            {"text": "deploy done, nothing left", "watch": False},
        ],
        tips="Restart the worker if the queue backs up.",
    )
    second = _by_role(
        handoffs_draft_for(team=team, start=utc(2026, 1, 19), end=utc(2026, 1, 19, 7))
    )["primary"]
    assert second.ongoing == [{"text": "payments-api p99 creeping up", "watch": True}]
    assert second.tips == ""
    handoff_edit(note=second, ongoing=[], tips="")
    third = _by_role(
        handoffs_draft_for(team=team, start=utc(2026, 1, 26), end=utc(2026, 1, 26, 7))
    )["primary"]
    assert third.ongoing == []


def test_the_periodic_drafting_run_twice_or_late_makes_one_note_per_role(demo):
    team, *_ = demo
    assert len(handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(minutes=1))) == 2
    assert handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(minutes=2)) == []
    assert handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(hours=5)) == []
    assert HandoffNote.objects.filter(boundary=FIRST_CHANGE).count() == 2


def test_the_constraint_refuses_a_second_note_for_a_boundary(demo):
    team, *_ = demo
    [boundary, _] = boundaries_between(
        team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7)
    )
    assert handoff_draft(boundary=boundary, role="primary") is not None
    # What a concurrent run would do after its cheap check said "none yet".
    assert handoff_draft(boundary=boundary, role="primary") is None
    assert HandoffNote.objects.filter(role="primary").count() == 1


def test_a_late_run_still_drafts_a_boundary_it_missed(demo, settings):
    settings.HANDOFF_LOOKBACK_HOURS = 24
    late = FIRST_CHANGE + dt.timedelta(hours=23)
    assert len(handoffs_draft_due(now=late)) == 2
    # ... but not one older than the lookback.
    HandoffNote.objects.all().delete()
    assert handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(hours=25)) == []


def test_a_team_may_merge_primary_and_secondary_into_one_note(demo):
    team, *_ = demo
    HandoffSettings.objects.create(team=team, merge_roles=True)
    notes = handoffs_draft_for(
        team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7)
    )
    assert [(n.role, n.outgoing.username, n.incoming.username) for n in notes] == [
        ("both", "alice", "charlie")
    ]
    assert (
        handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 12, 7))
        == []
    )


def test_no_boundary_no_note_before_the_rotation_starts(demo):
    team, *_ = demo
    assert (
        handoffs_draft_for(team=team, start=utc(2026, 1, 1), end=utc(2026, 1, 5, 7))
        == []
    )


def test_boundaries_and_sleep_hours_follow_local_time_across_dst(
    make_team, make_rotation, phones
):
    # Berlin moves to summer time on Sunday 29 March 2026: the 09:00 handoff is
    # 08:00 UTC on the 23rd and 07:00 UTC on the 30th.
    team, people = make_team("berlin", time_zone="Europe/Berlin")
    for member in people:
        member.time_zone = "Europe/Berlin"
        member.save()
    rotation = make_rotation(
        team, people, now=utc(2026, 3, 1), start_date=dt.date(2026, 3, 23)
    )
    integration = integration_create(team)
    policy_create(team, {"target": "primary", "channel": "sms"}, team_default=True)
    found = boundaries_between(
        team=team, start=utc(2026, 3, 23, 9), end=utc(2026, 4, 1)
    )
    assert [(b.role, b.at) for b in found] == [
        ("primary", utc(2026, 3, 30, 7)),
        ("secondary", utc(2026, 3, 30, 7)),
    ]
    assert found[0].shift_start == utc(2026, 3, 23, 8)
    # 05:30 UTC on the 29th is 07:30 in Berlin (asleep); 06:30 UTC is 08:30.
    for at in (utc(2026, 3, 29, 5, 30), utc(2026, 3, 29, 6, 30)):
        open_incident(integration, alertname=f"Probe{at.hour}", at=at)
        drive(at)
    assert len(phones.sent(to=people[0].phone)) == 2
    notes = handoffs_draft_for(team=team, start=utc(2026, 3, 30), end=utc(2026, 3, 31))
    primary = next(n for n in notes if n.role == "primary")
    assert primary.pages["count"] == 2
    assert primary.pages["sleep_hours"] == 1
    assert rotation.pk == primary.rotation_id
