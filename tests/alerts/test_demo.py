"""The demo (DESIGN.md §5): its organisation pages the on-call primary (what `make
run` shows), and its Alertmanager integration takes its token from the environment."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.demo.history import DEMO_HISTORY_INTEGRATION
from alerts.models import EscalationPolicy, Integration, Route
from scheduling.selectors import oncall_at
from tests.alerts.conftest import Webhook, drive, open_incident, sent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo command runs only with DEBUG on


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


def test_the_demo_integration_takes_its_token_from_the_environment(
    settings, client, capsys
):
    settings.ONCALL_DEMO_TOKEN = "demo-token-from-env"
    call_command("oncall_demo")
    out = capsys.readouterr().out
    assert "/api/v1/alertmanager/demo-token-from-env/" in out
    assert (
        Webhook(client, "demo-token-from-env").post("a_single_firing").status_code
        == 202
    )
    integration = Integration.objects.get(name="alertmanager")
    assert integration.team.slug == "payments"
    assert integration.routes.count() == 2  # critical|page, then the catch-all


def test_without_a_token_it_prints_a_random_one_once_and_stays_idempotent(
    settings, client, capsys
):

    settings.ONCALL_DEMO_TOKEN = ""
    call_command("oncall_demo")
    first = capsys.readouterr().out
    line = next(x for x in first.splitlines() if "Alertmanager webhook:" in x)
    token = line.rstrip("/").rsplit("/", 1)[1]
    call_command("oncall_demo")
    second = capsys.readouterr().out
    assert "exists; its token was printed when it was made" in second
    # The demo's integration, and the one holding its generated history.
    assert Integration.objects.exclude(name=DEMO_HISTORY_INTEGRATION).count() == 1
    assert Webhook(client, token).post("a_single_firing").status_code == 202


def test_changing_the_env_token_takes_over_on_the_next_load(settings, client):
    settings.ONCALL_DEMO_TOKEN = "first-token-aaaaaaaa"
    call_command("oncall_demo")
    settings.ONCALL_DEMO_TOKEN = "second-token-bbbbbbb"
    call_command("oncall_demo")
    assert (
        Webhook(client, "first-token-aaaaaaaa").post("a_single_firing").status_code
        == 401
    )
    assert (
        Webhook(client, "second-token-bbbbbbb").post("a_single_firing").status_code
        == 202
    )
