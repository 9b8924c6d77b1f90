"""Alert quality on a recorded Alertmanager sequence: fire, resolve, fire again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.incidents.state import incident_acknowledge
from alerts.insights.alert_quality import LabelError, alert_quality, check_labels
from alerts.models import Incident, InsightSettings
from scheduling.models import Team
from tests.alerts.conftest import drive, open_incident, sent
from tests.cast import PHONES

FIRE, RESOLVE = "k_root_route_firing", "k_resolved_without_annotations"


@pytest.fixture
def high_urgency(integration):
    """The recorded alerts say severity=warning (low urgency: SMS held for business
    hours); the catch-all route pages them at high urgency, at once."""
    integration.routes.update(urgency="high")
    return integration


def _play(webhook) -> list[str]:
    """Fire, page, resolve, fire again, page: as Alertmanager and the worker do."""
    results = webhook.send(FIRE)
    drive()
    results += webhook.send(RESOLVE, FIRE)
    drive()
    return results


def _report(team, **kwargs):
    now = timezone.now()
    return alert_quality(
        teams=Team.objects.filter(pk=team.pk),
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
        **kwargs,
    )


def _only(report):
    [row] = report.alerts
    return row


def test_a_group_that_fires_again_minutes_after_resolving_is_flapping(
    team, high_urgency, webhook, policy, alice
):
    results = _play(webhook)
    assert results[0].startswith("opened incident")
    assert "resolved it" in results[1]
    assert results[2].startswith("opened incident")  # reopen window 0: a new one
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["alice"]]

    row = _only(_report(team))

    assert row.key == {"alertname": "QueueBacklog"}
    assert (row.incidents, row.pages) == (2, 2)
    assert row.auto_resolved == 1  # the first resolved itself, unacknowledged
    assert row.flapping == 1  # the second came within 10 minutes of that
    assert row.acknowledged == 0
    first = Incident.objects.order_by("pk").first()
    assert row.median_duration == first.resolved_at - first.opened_at


def test_flapping_counts_at_the_window_and_not_below_it(
    team, high_urgency, webhook, policy, alice
):
    _play(webhook)
    sent()
    first, second = Incident.objects.order_by("pk")
    gap = second.opened_at - first.resolved_at
    assert gap > timedelta(0)

    assert _only(_report(team, flap_window=gap)).flapping == 1
    below = gap - timedelta(microseconds=1)
    assert _only(_report(team, flap_window=below)).flapping == 0


def test_the_teams_own_flap_window_is_used(team, high_urgency, webhook, policy, alice):
    _play(webhook)
    sent()
    InsightSettings.objects.create(team=team, flap_window=timedelta(0))
    assert _only(_report(team)).flapping == 0


def test_a_reopened_incident_is_flapping_too(
    team, high_urgency, webhook, policy, alice
):
    high_urgency.reopen_window = 600
    high_urgency.save()
    results = _play(webhook)
    assert results[2].startswith("reopened incident")
    sent()

    row = _only(_report(team))
    assert (row.incidents, row.flapping, row.pages) == (1, 1, 2)


def test_an_acknowledged_alert_is_not_auto_resolved_and_the_noisy_rule_says_why(
    team, integration, policy, alice
):
    now = timezone.now()
    for _ in range(3):
        open_incident(integration, alertname="DiskFull", at=now)
    acked = open_incident(integration, alertname="HighErrorRate", at=now)
    drive(now)
    sent()
    incident_acknowledge(incident=acked, by=alice, at=now + timedelta(minutes=1))

    report = _report(team)
    rows = {r.key["alertname"]: r for r in report.alerts}
    assert [r.key["alertname"] for r in report.alerts] == ["DiskFull", "HighErrorRate"]
    disk, errors = rows["DiskFull"], rows["HighErrorRate"]
    assert (disk.incidents, disk.pages, disk.acknowledged) == (3, 3, 0)
    assert disk.noisy
    assert disk.noisy_reasons == ["only 0 of 3 acknowledged"]
    assert (errors.acknowledged, errors.ack_rate, errors.noisy) == (1, 1.0, False)


def test_a_label_set_chosen_by_the_user(team, high_urgency, webhook, policy, alice):
    webhook.send(FIRE)
    drive()
    sent()
    row = _only(_report(team, labels=["alertname", "service"]))
    assert row.key == {"alertname": "QueueBacklog", "service": "orders"}


@pytest.mark.parametrize("labels", [[], ["a", "b", "c", "d"], ["bad-name"], ["x", "x"]])
def test_bad_label_sets_are_refused(labels):
    with pytest.raises(LabelError):
        check_labels(labels)


def test_the_query_count_does_not_grow_with_the_incidents(
    team, integration, policy, alice
):
    now = timezone.now()
    open_incident(integration, alertname="A", at=now)
    with CaptureQueriesContext(connection) as few:
        _report(team)
    for n in range(5):
        open_incident(integration, alertname=f"B{n}", at=now)
    drive(now)
    sent()
    with CaptureQueriesContext(connection) as many:
        _report(team)
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("local", "asleep"),
    [
        ((21, 59), False),  # the minute before sleep hours
        ((22, 0), True),  # sleep hours begin
        ((3, 0), True),
        ((7, 59), True),  # the last minute of sleep
        ((8, 0), False),  # they end
    ],
)
def test_sleep_share_reads_the_sent_instant_in_the_members_zone(
    team, integration, policy, alice, local, asleep
):
    """alice lives in Los Angeles on a Nairobi team: her sleep hours are hers."""
    import datetime as dt
    import zoneinfo

    from tests.alerts.insights.conftest import drive_at

    alice.time_zone = "America/Los_Angeles"
    alice.save()
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    today = timezone.now().astimezone(la).date() + timedelta(days=1)
    at = dt.datetime.combine(today, dt.time(*local), tzinfo=la).astimezone(dt.UTC)
    open_incident(integration, alertname="DiskFull", at=at)
    drive_at(at)
    sent()
    report = alert_quality(
        teams=Team.objects.filter(pk=team.pk),
        start=at - timedelta(hours=1),
        end=at + timedelta(hours=1),
    )
    row = _only(report)
    assert (row.pages, row.sleep_pages) == (1, 1 if asleep else 0)


def test_a_teams_own_sleep_hours_are_used(team, integration, policy, alice):
    import zoneinfo

    from tests.alerts.insights.conftest import drive_at

    at = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=30)
    minute = at.astimezone(zoneinfo.ZoneInfo(alice.time_zone))  # her own zone
    start = (minute - timedelta(minutes=1)).time()
    end = (minute + timedelta(minutes=1)).time()
    InsightSettings.objects.create(team=team, sleep_start=start, sleep_end=end)
    open_incident(integration, at=at)
    drive_at(at)
    sent()
    report = _report(team)
    assert _only(report).sleep_pages == 1
    InsightSettings.objects.filter(team=team).update(sleep_start=end, sleep_end=end)
    assert _only(_report(team)).sleep_pages == 0  # start == end: no sleep hours
