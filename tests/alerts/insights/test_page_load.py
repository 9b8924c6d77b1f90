"""Page load per member, from pages the real escalation engine created."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.incidents.state import incident_acknowledge
from alerts.insights.page_load import page_load
from alerts.models import PageBundle
from tests.alerts.conftest import open_incident, sent
from tests.alerts.insights.conftest import drive_at
from tests.cast import PHONES, policy_create

LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def _next_local(hour: int, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first ``hour``:00 local time in ``tz`` after now (within alice's week)."""
    now = timezone.now().astimezone(tz)
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= now:
        at = (at + timedelta(days=1)).replace(hour=hour)
    return at.astimezone(dt.UTC)


def _load(team, start, end, username):
    report = page_load(team=team, start=start, end=end)
    return next(m for m in report.members if m.member.username == username)


def test_a_page_at_3_am_in_the_members_own_zone_is_a_sleep_interruption(
    team, integration, policy, alice, bob
):
    alice.time_zone = "America/Los_Angeles"  # on a Nairobi team
    alice.save()
    at = _next_local(3, LA)
    # 03:00 in Los Angeles is 14:00 in Nairobi: business hours for the team.
    assert at.astimezone(team.tz).hour in (13, 14)
    incident = open_incident(integration, at=at)
    drive_at(at)
    assert [s.to for s in sent()] == [PHONES["alice"]]
    incident_acknowledge(incident=incident, by=alice, at=at + timedelta(minutes=3))

    load = _load(team, at - timedelta(hours=1), at + timedelta(hours=1), "alice")

    assert (load.pages, load.sleep, load.business, load.off) == (1, 1, 0, 0)
    assert (load.incidents, load.acknowledged, load.escalated_past) == (1, 1, 0)
    assert load.tta_median == load.tta_worst == timedelta(minutes=3)


def test_the_same_hour_is_business_hours_for_a_member_in_nairobi(
    team, integration, policy, alice, bob
):
    at = _next_local(3, LA)  # 13:00/14:00 in Nairobi, alice's zone here
    if at.astimezone(team.tz).weekday() >= 5:
        pytest.skip("a weekend in Nairobi: off-hours, not business hours")
    open_incident(integration, at=at)
    drive_at(at)
    sent()
    load = _load(team, at - timedelta(hours=1), at + timedelta(hours=1), "alice")
    assert (load.pages, load.sleep, load.business) == (1, 0, 1)


def test_an_escalation_past_the_primary_counts_against_them_as_unanswered(
    team, integration, policy, alice, bob
):
    now = timezone.now()
    incident = open_incident(integration, at=now)
    drive_at(now)
    drive_at(now + timedelta(minutes=5, seconds=6))
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]
    incident_acknowledge(incident=incident, by=bob, at=now + timedelta(minutes=7))

    report = page_load(
        team=team, start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )
    by_name = {m.member.username: m for m in report.members}
    alice_load, bob_load = by_name["alice"], by_name["bob"]
    assert (alice_load.pages, alice_load.escalated_past, alice_load.acknowledged) == (
        1,
        1,
        0,
    )
    assert (bob_load.pages, bob_load.escalated_past, bob_load.acknowledged) == (1, 0, 1)
    assert bob_load.tta_worst == timedelta(minutes=7) - timedelta(minutes=5, seconds=6)


def test_an_acknowledged_page_is_not_escalated_past(
    team, integration, policy, alice, bob
):
    now = timezone.now()
    incident = open_incident(integration, at=now)
    drive_at(now)
    incident_acknowledge(incident=incident, by=alice, at=now + timedelta(minutes=1))
    drive_at(now + timedelta(minutes=10))
    assert [s.to for s in sent()] == [PHONES["alice"]]
    load = _load(team, now - timedelta(hours=1), now + timedelta(hours=1), "alice")
    assert (load.pages, load.escalated_past, load.acknowledged) == (1, 0, 1)


def test_an_sms_then_a_call_for_the_same_step_is_one_interruption(
    team, integration, rotation, alice
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
    now = timezone.now()
    open_incident(integration, at=now)
    drive_at(now)
    drive_at(now + timedelta(minutes=2, seconds=5))
    assert [s.kind for s in sent()] == ["sms", "call"]
    load = _load(team, now - timedelta(hours=1), now + timedelta(hours=1), "alice")
    assert (load.pages, load.incidents) == (1, 1)


@pytest.fixture
def storm_limits(settings):
    settings.STORM_MAX_PAGES = 2
    settings.STORM_WINDOW_SECONDS = 600
    settings.STORM_BUNDLE_SECONDS = 120


def test_a_storm_bundle_counts_once_and_says_how_many_incidents_it_carried(
    storm_limits, team, integration, policy, alice
):
    now = timezone.now()
    for n in range(4):
        open_incident(integration, alertname=f"Alert{n}", at=now)
    drive_at(now)
    drive_at(now + timedelta(minutes=2, seconds=1))
    texts = sent(to=PHONES["alice"])
    assert len(texts) == 3  # two pages, then one bundle of the other two
    assert PageBundle.objects.filter(sent_at__isnull=False).count() == 1

    load = _load(team, now - timedelta(hours=1), now + timedelta(hours=1), "alice")
    assert (load.pages, load.bundles, load.bundled_incidents, load.incidents) == (
        3,
        1,
        2,
        4,
    )


def test_time_on_call_comes_from_the_effective_schedule(team, rotation, people):
    start = rotation.shifts.order_by("starts_at").first().starts_at
    report = page_load(team=team, start=start, end=start + timedelta(days=14))
    hours = {
        m.member.username: (m.primary_hours, m.secondary_hours) for m in report.members
    }
    # Week 1: alice primary, bob secondary; week 2: charlie and david (DESIGN §7).
    assert hours["alice"] == (168.0, 0.0)
    assert hours["bob"] == (0.0, 168.0)
    assert hours["charlie"] == (168.0, 0.0)
    assert hours["david"] == (0.0, 168.0)
    assert hours["eve"] == (0.0, 0.0)


def _pages_for(integration, now, n):
    for i in range(n):
        open_incident(integration, alertname=f"A{i}", at=now)
    drive_at(now)
    sent()


def test_the_query_count_does_not_grow_with_the_pages(team, integration, policy, alice):
    now = timezone.now()
    window = {
        "team": team,
        "start": now - timedelta(hours=1),
        "end": now + timedelta(hours=1),
    }
    _pages_for(integration, now, 1)
    with CaptureQueriesContext(connection) as few:
        page_load(**window)
    _pages_for(integration, now, 5)
    with CaptureQueriesContext(connection) as many:
        page_load(**window)
    assert len(many) == len(few)


def test_a_page_counts_at_the_hour_it_was_sent_not_the_hour_it_was_due(
    team, integration, policy, alice, bob
):
    """The engine fires the step at 21:57 for alice (off-hours): the page is due
    then; the sending sweep only gets to it at 22:01 (a busy worker): it woke her
    in her sleep hours, and the heatmap puts it in the 22:00 hour."""
    from alerts.escalation.claims import escalations_claim
    from alerts.escalation.engine import escalations_advance
    from alerts.insights.heatmap import page_heatmap
    from alerts.models import Page

    alice.time_zone = "America/Los_Angeles"
    alice.save()
    due = _next_local(21, LA) + timedelta(minutes=57)
    open_incident(integration, at=due)
    ids = [pk for pk, _ in escalations_claim(now=due, limit=10)]
    escalations_advance(incident_ids=ids, now=due)  # the page is written, due now
    assert not sent()
    drive_at(due + timedelta(minutes=4))
    assert [s.to for s in sent()] == [PHONES["alice"]]
    page = Page.objects.get()
    assert page.due_at == due
    assert page.sent_at == due + timedelta(minutes=4)

    load = _load(team, due - timedelta(hours=1), due + timedelta(hours=1), "alice")
    assert (load.pages, load.sleep, load.off) == (1, 1, 0)

    grid = page_heatmap(team=team, start=due, end=due + timedelta(hours=1))
    sent_local = page.sent_at.astimezone(team.tz)
    assert grid[sent_local.weekday()][sent_local.hour] == 1
    assert sum(map(sum, grid)) == 1
    # The period reads the sending instant too: before it, nothing.
    early = _load(team, due - timedelta(hours=1), due + timedelta(minutes=3), "alice")
    assert early.pages == 0
