"""The deploy gate and deploy records (alerts/slos/gate.py): decided from the
stored evaluation, open incidents and who is on call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.models import Deploy, TimelineEntry
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import DeployRefused, deploy_gate, deploy_record
from tests.alerts.slos.conftest import service_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    """Today 00:00 UTC: the ``rotation`` fixture's first week starts then."""
    return (
        timezone.now()
        .astimezone(dt.UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )


@pytest.fixture
def noon(today):
    return today + dt.timedelta(hours=12)


def test_allow_then_limited_then_a_second_deploy_refused_then_freeze(
    slo, service, integration, rotation, published, noon, alice
):
    slo_evaluate(slo=slo, now=noon)
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.deploy_allowed, gate.budget_remaining) == (
        "allow",
        True,
        1.0,
    )

    # 25 of 43.2 minutes spent: 42 % left, limited: one deploy today.
    service_incident(
        integration,
        noon - dt.timedelta(days=2),
        noon - dt.timedelta(days=2, minutes=-25),
    )
    slo_evaluate(slo=slo, now=noon)
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.deploy_allowed) == ("limited", True)
    assert gate.budget_remaining == pytest.approx(1 - 25 / 43.2)
    assert "1 of 1 deploy(s) left today" in gate.reason

    first = deploy_record(service=service, by=alice.user, ref="v1", now=noon)
    assert first.decision == "limited"
    with pytest.raises(DeployRefused) as refused:
        deploy_record(service=service, by=alice.user, ref="v2", now=noon)
    gate = refused.value.gate
    assert (gate.decision, gate.deploy_allowed, gate.deploys_today) == (
        "limited",
        False,
        1,
    )
    # The next day in the team's zone (Nairobi, UTC+3) starts at 21:00 UTC.
    assert gate.next_allowed_at == noon.replace(hour=21)
    assert Deploy.objects.count() == 1
    # The next local day, a deploy is allowed again.
    tomorrow = noon.replace(hour=21, minute=1)
    slo_evaluate(slo=slo, now=tomorrow)
    assert deploy_gate(service=service, now=tomorrow).deploy_allowed

    # 15 more minutes: 40 of 43.2 spent, 7 % left: freeze.
    service_incident(
        integration,
        noon - dt.timedelta(days=1),
        noon - dt.timedelta(days=1, minutes=-15),
    )
    slo_evaluate(slo=slo, now=tomorrow)
    gate = deploy_gate(service=service, now=tomorrow)
    assert (gate.decision, gate.deploy_allowed, gate.next_allowed_at) == (
        "freeze",
        False,
        None,
    )


def test_an_open_high_urgency_incident_freezes_whatever_the_budget(
    slo, service, integration, rotation, published, noon
):
    service_incident(integration, noon - dt.timedelta(minutes=1), urgency="low")
    slo_evaluate(slo=slo, now=noon)
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.open_incidents) == ("allow", 1)

    high = service_incident(integration, noon - dt.timedelta(minutes=1))
    slo_evaluate(slo=slo, now=noon)
    gate = deploy_gate(service=service, now=noon)
    assert gate.budget_remaining > 0.9  # the budget alone would allow
    assert (gate.decision, gate.open_incidents) == ("freeze", 2)
    assert f"#{high.pk}" in gate.reason


@pytest.mark.parametrize(("hour", "asleep"), [(2, True), (12, False), (21, False)])
def test_it_says_who_is_primary_and_whether_they_sleep(
    slo, service, rotation, today, hour, asleep
):
    # alice is primary all of today; she lives in UTC; sleep is 22:00-08:00.
    at = today + dt.timedelta(hours=hour)
    oncall = deploy_gate(service=service, now=at).oncall
    assert (oncall.primary, oncall.in_sleep_hours) == ("alice", asleep)


def test_nobody_on_call_is_said_plainly(slo, service, noon):
    oncall = deploy_gate(service=service, now=noon).oncall
    assert (oncall.primary, oncall.in_sleep_hours) == (None, None)


def test_a_stale_evaluation_fails_open_with_a_warning(slo, service, noon):
    slo_evaluate(slo=slo, now=noon - dt.timedelta(minutes=6))
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.stale) == ("allow", True)
    assert "last evaluation" in gate.warning
    fresh = deploy_gate(service=service, now=noon - dt.timedelta(minutes=2))
    assert (fresh.stale, fresh.warning) == (False, "")


def test_a_stale_evaluation_freezes_when_failing_closed(slo, service, noon, settings):
    settings.SLO_GATE_FAIL_CLOSED = True
    slo_evaluate(slo=slo, now=noon - dt.timedelta(minutes=6))
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.stale) == ("freeze", True)
    assert "failing closed" in gate.reason


def test_an_slo_never_evaluated_fails_open_or_closed(slo, service, noon, settings):
    gate = deploy_gate(service=service, now=noon)
    assert (gate.decision, gate.stale, gate.budget_remaining) == ("allow", True, None)
    assert "not been evaluated" in gate.warning
    settings.SLO_GATE_FAIL_CLOSED = True
    assert deploy_gate(service=service, now=noon).decision == "freeze"


def test_the_worst_slo_decides(slo, service, integration, published, noon):
    from alerts.slos.setup import slo_create

    strict = slo_create(service=service, name="strict", objective="99.99")
    service_incident(
        integration,
        noon - dt.timedelta(days=1),
        noon - dt.timedelta(days=1, minutes=-4),  # 4 of 4.32 min
    )
    slo_evaluate(slo=slo, now=noon)
    slo_evaluate(slo=strict, now=noon)
    gate = deploy_gate(service=service, now=noon)
    assert (gate.slo, gate.decision) == ("strict", "freeze")


def test_breaking_glass_records_the_deploy_and_writes_the_timeline(
    slo, service, integration, published, noon, make_member
):
    ops = make_member("ops").user
    incident = service_incident(integration, noon - dt.timedelta(minutes=5))
    slo_evaluate(slo=slo, now=noon)
    with pytest.raises(ValidationError):
        deploy_record(service=service, by=ops, break_glass=True, reason=" ", now=noon)
    deploy = deploy_record(
        service=service,
        by=ops,
        ref="hotfix-7",
        break_glass=True,
        reason="the fix for the incident itself",
        now=noon,
    )
    assert (deploy.break_glass, deploy.decision) == (True, "freeze")
    note = TimelineEntry.objects.get(incident=incident, kind="note")
    assert "break glass: ops deployed payments-api hotfix-7" in note.text
    assert "the fix for the incident itself" in note.text


def test_break_glass_when_the_gate_allows_is_an_ordinary_deploy(slo, service, noon):
    slo_evaluate(slo=slo, now=noon)
    deploy = deploy_record(
        service=service, by=None, break_glass=True, reason="habit", now=noon
    )
    assert (deploy.break_glass, deploy.decision) == (False, "allow")
