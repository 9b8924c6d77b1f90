"""Maintenance windows: incidents are recorded and flagged, not escalated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from alerts.incidents import state as incidents
from alerts.incidents.maintenance import maintenance_sweep
from alerts.models import MaintenanceWindow
from alerts.selectors import maintenance_upcoming
from tests.alerts.conftest import only_incident

pytestmark = pytest.mark.django_db


def window(*, start, end, **target) -> MaintenanceWindow:
    now = timezone.now()
    return MaintenanceWindow.objects.create(
        starts_at=now + start, ends_at=now + end, reason="database upgrade", **target
    )


@pytest.fixture
def ended(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        incidents, "on_incident_maintenance_ended", lambda i: calls.append(i.pk)
    )
    return calls


def test_an_incident_during_a_team_window_is_recorded_and_flagged(webhook, team):
    w = window(start=timedelta(hours=-1), end=timedelta(hours=1), team=team)
    webhook.send("a_single_firing")
    incident = only_incident()
    assert incident.in_maintenance is True
    entry = incident.timeline.get(kind="maintenance")
    assert f"maintenance window #{w.pk} (database upgrade" in entry.text
    assert "not escalated" in entry.text


def test_an_integration_window_flags_its_incidents(webhook, integration):
    window(start=timedelta(hours=-1), end=timedelta(hours=1), integration=integration)
    webhook.send("a_single_firing")
    assert only_incident().in_maintenance is True


def test_windows_that_are_over_or_not_started_flag_nothing(webhook, team):
    window(start=timedelta(hours=-3), end=timedelta(hours=-1), team=team)
    window(start=timedelta(hours=1), end=timedelta(hours=3), team=team)
    webhook.send("a_single_firing")
    assert only_incident().in_maintenance is False


def test_another_teams_window_does_not_apply(webhook, other_team):
    window(start=timedelta(hours=-1), end=timedelta(hours=1), team=other_team)
    webhook.send("a_single_firing")
    assert only_incident().in_maintenance is False


def test_when_the_window_ends_an_open_incident_starts_escalating(webhook, team, ended):
    w = window(start=timedelta(hours=-1), end=timedelta(hours=1), team=team)
    webhook.send("a_single_firing")
    incident = only_incident()

    assert maintenance_sweep() == 0  # still inside the window
    assert maintenance_sweep(now=w.ends_at + timedelta(seconds=1)) == 1
    incident.refresh_from_db()
    assert incident.in_maintenance is False
    assert ended == [incident.pk]
    assert incident.timeline.last().text.startswith("maintenance window ended")
    assert maintenance_sweep(now=w.ends_at + timedelta(seconds=2)) == 0


def test_a_resolved_incident_is_left_alone_when_the_window_ends(webhook, team, ended):
    w = window(start=timedelta(hours=-1), end=timedelta(hours=1), team=team)
    webhook.send("k_root_route_firing", "k_resolved_without_annotations")
    assert only_incident().status == "resolved"
    assert maintenance_sweep(now=w.ends_at + timedelta(seconds=1)) == 0
    assert ended == []


def test_a_window_needs_exactly_one_target(team, integration):
    now = timezone.now()
    bad = MaintenanceWindow(
        team=team,
        integration=integration,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        reason="x",
    )
    with pytest.raises(ValidationError):
        bad.full_clean()
    with pytest.raises(IntegrityError):
        bad.save()


def test_a_window_must_end_after_it_starts(team):
    now = timezone.now()
    bad = MaintenanceWindow(team=team, starts_at=now, ends_at=now, reason="x")
    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()
    assert "end after it starts" in str(excinfo.value)


def test_upcoming_windows_of_a_team_include_its_integrations(
    team, integration, other_team
):
    a = window(start=timedelta(hours=2), end=timedelta(hours=3), team=team)
    b = window(
        start=timedelta(hours=5), end=timedelta(hours=6), integration=integration
    )
    window(start=timedelta(hours=2), end=timedelta(hours=3), team=other_team)
    window(start=timedelta(days=9), end=timedelta(days=10), team=team)
    now = timezone.now()
    found = maintenance_upcoming(
        team_id=team.pk, start=now, end=now + timedelta(days=7)
    )
    assert list(found) == [a, b]
