"""The demo organisation pages its on-call primary (what `make run` shows)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import EscalationPolicy, Route
from scheduling.selectors import oncall_at
from tests.escalation.conftest import drive, open_incident, sent


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo command runs only with DEBUG on


@pytest.mark.django_db
def test_the_demo_route_escalates_primary_then_secondary_then_the_team():
    call_command("oncall_demo")
    call_command("oncall_demo")  # idempotent
    policy = EscalationPolicy.objects.get()
    assert [s.target for s in policy.steps.order_by("position")] == [
        "primary",
        "secondary",
        "team",
    ]
    assert set(Route.objects.values_list("escalation_policy", flat=True)) == {policy.pk}
    route = Route.objects.filter(matchers__isnull=False).first()
    incident = open_incident(route.integration)
    drive()
    primary = oncall_at(team=route.team, at=timezone.now()).primary
    assert [s.to for s in sent()] == [primary.phone]
    assert incident.escalation.snapshot["name"] == policy.name
