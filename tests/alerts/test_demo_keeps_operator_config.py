"""``manage.py oncall_demo`` (run by every ``make run``) creates what is missing and
never modifies what exists (issue 11, item 10)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from alerts.intake.integrations import route_add
from alerts.models import Integration, Route
from scheduling.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo only runs with DEBUG on


def test_an_operators_route_without_a_policy_stays_without_one() -> None:
    call_command("oncall_demo")
    team = Team.objects.get(slug="payments")
    integration = Integration.objects.get(team=team, name="alertmanager")
    mine = route_add(
        integration=integration,
        team=team,
        matchers=['service="ledger"'],
        name="ledger, no paging yet",
    )
    assert mine.escalation_policy is None

    call_command("oncall_demo")
    call_command("oncall_demo")

    mine.refresh_from_db()
    assert mine.escalation_policy is None


def test_the_demo_gives_its_policy_to_the_routes_it_creates() -> None:
    call_command("oncall_demo")
    routes = Route.objects.filter(integration__name="alertmanager")
    assert routes.count() == 2
    assert {r.escalation_policy.name for r in routes} == {"primary, secondary, team"}
