"""Urgency decides how a policy pages: high as written; low never calls, and texts
only inside the member's business hours, in the member's own time zone."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open
from alerts.intake.integrations import route_add
from alerts.models import Escalation, Incident, Page, Route
from tests.alerts.conftest import drive, sent
from tests.cast import PHONES, policy_create


def open_low(integration, *, at: dt.datetime) -> Incident:
    """A warning-level group, routed at low urgency."""
    spec = IncidentSpec(
        group_key='{}:{alertname="DiskFilling"}',
        title="DiskFilling: 80% full",
        team_id=integration.team_id,
        route_id=integration.routes.first().pk,
        routing="test",
        urgency="low",
        group_labels={"alertname": "DiskFilling"},
        common_labels={"alertname": "DiskFilling", "severity": "warning"},
        common_annotations={"summary": "80% full"},
    )
    with transaction.atomic():
        return incident_open(integration=integration, spec=spec, at=at)


@pytest.fixture
def two_steps(team, rotation):
    """SMS then a call to the primary; the secondary the same way 5 minutes later;
    business hours 09:00-18:00 every day (so the test does not depend on today)."""
    return policy_create(
        team,
        {"target": "primary", "channel": "sms_then_voice"},
        {
            "target": "secondary",
            "channel": "sms_then_voice",
            "delay": timedelta(minutes=5),
        },
        team_default=True,
        business_weekdays="1234567",
    )


def tomorrow(hour: int, minute: int = 0) -> dt.datetime:
    """Tomorrow at hour:minute UTC, inside the rotation's first week (alice is the
    primary, bob the secondary)."""
    today = timezone.now().astimezone(dt.UTC).date()
    return dt.datetime.combine(
        today + timedelta(days=1), dt.time(hour, minute), tzinfo=dt.UTC
    )


def test_low_urgency_in_business_hours_texts_and_never_calls(
    integration, two_steps, alice, bob
):
    incident = open_low(integration, at=tomorrow(10))
    for minutes in (0, 3, 6, 10, 30):  # past every step and every voice_after
        drive(tomorrow(10) + timedelta(minutes=minutes))
    assert [(s.to, s.kind) for s in sent()] == [
        (PHONES["alice"], "sms"),
        (PHONES["bob"], "sms"),
    ]
    assert not Page.objects.filter(channel="voice").exists()
    assert incident.timeline.filter(
        text__contains="low urgency: SMS only, in business hours"
    ).exists()


def test_low_urgency_at_night_waits_for_each_members_own_morning(
    integration, two_steps, alice, bob
):
    alice.time_zone = "Africa/Nairobi"  # UTC+3: her 09:00 is 06:00 UTC
    alice.save()
    open_low(integration, at=tomorrow(2))
    drive(tomorrow(2))
    drive(tomorrow(5, 59))
    assert sent() == []  # nobody woken in the night
    page = Page.objects.get(member=alice)
    assert page.channel == "sms"
    assert page.due_at == tomorrow(6)
    # The chain waits with her SMS: step 2 is due 5 minutes after it goes out.
    assert Escalation.objects.get().next_action_at == tomorrow(6, 5)

    drive(tomorrow(6))
    assert [s.to for s in sent()] == [PHONES["alice"]]
    drive(tomorrow(6, 5))  # step 2 fires; bob (UTC) is still before his 09:00
    assert [s.to for s in sent()] == [PHONES["alice"]]
    assert Page.objects.get(member=bob).due_at == tomorrow(9)
    drive(tomorrow(9))
    assert [(s.to, s.kind) for s in sent()] == [
        (PHONES["alice"], "sms"),
        (PHONES["bob"], "sms"),
    ]


def test_high_urgency_at_night_still_texts_then_calls(integration, two_steps, alice):
    from tests.alerts.conftest import open_incident

    open_incident(integration, at=tomorrow(2))
    drive(tomorrow(2))
    drive(tomorrow(2, 2))
    assert [(s.to, s.kind) for s in sent()] == [
        (PHONES["alice"], "sms"),
        (PHONES["alice"], "call"),
    ]


def test_the_test_labels_tool_says_route_urgency_policy_and_whom_it_pages(
    admin_client, integration, two_steps, alice, bob, team
):
    route_add(
        integration=integration,
        team=team,
        matchers=['severity="critical"'],
        name="crit",
    )
    Route.objects.filter(integration=integration, matchers__isnull=True).update(
        urgency="low"
    )
    url = f"/admin/alerts/integration/{integration.pk}/test-labels/"

    page = admin_client.post(url, {"labels": "severity=critical"}).content.decode()
    assert "matched route 1 &quot;crit&quot;" in page
    assert '<strong id="urgency">high</strong>' in page
    assert f'<strong id="policy">{two_steps.name}</strong>' in page
    assert "Alice by SMS at once<br>Alice by call after 2 min" in page

    # Business hours that certainly exclude now: they start 1 to 2 hours ahead.
    start = (timezone.now() + timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0
    )
    two_steps.business_start = start.time()
    two_steps.business_end = (start + timedelta(minutes=30)).time()
    two_steps.save()
    page = admin_client.post(url, {"labels": "severity=warning"}).content.decode()
    assert "catch-all" in page
    assert '<strong id="urgency">low</strong>' in page
    assert "Alice by SMS held until " in page
    assert f"{start:%H:%M} (UTC)" in page
    assert "by call" not in page


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True  # the demo command runs only with DEBUG on


@pytest.mark.django_db
def test_the_demo_catch_all_route_is_low_urgency(debug_on):
    call_command("oncall_demo")
    # The demo integration's routes (not those of its generated history's).
    routes = Route.objects.filter(integration__name="alertmanager")
    catch_all = routes.get(matchers__isnull=True)
    assert catch_all.urgency == "low"
    assert routes.get(matchers__isnull=False).urgency == "high"
