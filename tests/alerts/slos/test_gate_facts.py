"""The deploy gate's one statement (alerts/slos/gate_facts.py): the same facts
the ORM's definitions give, scoped as the API is, and every change seen at once
(the statement is compiled once per shape; nothing of the answer is kept)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Deploy, Incident
from alerts.slos.evaluate import service_open_incidents, slo_evaluate
from alerts.slos.gate import deploy_gate, deploy_gate_for
from alerts.slos.gate_facts import gate_facts
from alerts.slos.setup import service_update, slo_create
from scheduling.teams import team_update
from tests import cast
from tests.alerts.slos.conftest import service_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    # 21:30 UTC is 00:30 the next day in Nairobi (the team's zone, UTC+3).
    return cast.utc(2026, 3, 10, 21, 30)


def _statements(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, [q["sql"] for q in queries.captured_queries]


def test_a_warm_gate_reads_everything_in_one_statement(
    slo, service, integration, published, now
):
    service_incident(integration, now - dt.timedelta(hours=1))  # high, open
    slo_evaluate(slo=slo, now=now)
    deploy_gate(service=service, now=now)  # warm: the shape is compiled
    gate, sql = _statements(lambda: deploy_gate(service=service, now=now))
    assert len(sql) == 1, sql
    assert (gate.decision, gate.open_incidents) == ("freeze", 1)


def test_its_open_incidents_are_the_services_by_the_orms_definition(
    service, integration, published, now
):
    mine = service_incident(integration, now - dt.timedelta(hours=3))
    low = service_incident(integration, now - dt.timedelta(hours=2), urgency="low")
    service_incident(integration, now - dt.timedelta(hours=2), service="other")
    service_incident(
        integration, now - dt.timedelta(hours=5), now - dt.timedelta(hours=4)
    )  # resolved
    facts = gate_facts(now=now, service_id=service.pk)
    assert facts is not None
    expected = list(service_open_incidents(service=service).order_by("pk"))
    assert [i.pk for i in expected] == sorted([mine.pk, low.pk])
    assert facts.open_incidents == len(expected)
    assert facts.open_high == [mine.pk]
    gate = deploy_gate(service=service, now=now)
    assert f"#{mine.pk}" in gate.reason and f"#{low.pk}" not in gate.reason


def test_changing_the_services_labels_changes_the_answer_at_once(
    service, integration, published, now
):
    other = service_incident(integration, now - dt.timedelta(hours=1), service="b")
    assert deploy_gate(service=service, now=now).open_incidents == 0
    service_update(service=service, match_labels={"service": "b"})
    gate = deploy_gate(service=service, now=now)
    assert (gate.open_incidents, gate.decision) == (1, "freeze")
    assert f"#{other.pk}" in gate.reason


def test_deploys_are_counted_in_the_teams_day_even_after_its_zone_changes(
    slo, service, team, now
):
    # 20:00 UTC on the 10th: the 10th in UTC, the 10th in Nairobi (23:00).
    Deploy.objects.create(service=service, at=now - dt.timedelta(hours=1.5))
    # In Nairobi it is the 11th now (00:30): yesterday's deploy does not count.
    assert deploy_gate(service=service, now=now).deploys_today == 0
    team_update(team=team, time_zone="UTC")
    # The same instant is 21:30 on the 10th in UTC: the deploy is today's.
    assert deploy_gate(service=service, now=now).deploys_today == 1


def test_the_limited_days_end_is_the_teams_midnight(slo, service, now):
    facts = gate_facts(now=now, service_id=service.pk)
    assert facts is not None
    # Nairobi's 11th, [00:00, 24:00) local, is [21:00 on the 10th, 21:00) UTC.
    assert (facts.day_start, facts.day_end) == (
        cast.utc(2026, 3, 10, 21),
        cast.utc(2026, 3, 11, 21),
    )


def test_a_new_slo_and_a_new_evaluation_are_read_at_once(slo, service, now):
    slo_evaluate(slo=slo, now=now)
    assert deploy_gate(service=service, now=now).slo == "availability"
    strict = slo_create(service=service, name="strict", objective="99.99")
    gate = deploy_gate(service=service, now=now)
    # Never evaluated: the worst, and nothing is known about it.
    assert (gate.slo, gate.stale) == ("strict", True)
    slo_evaluate(slo=strict, now=now)
    assert deploy_gate(service=service, now=now).stale is False


def test_by_slug_it_is_scoped_to_the_callers_teams(slo, service, alice, now):
    charlie = cast.member_create("charlie-elsewhere").user
    staff = get_user_model().objects.create_user("root", is_staff=True)
    assert deploy_gate_for(slug="payments-api", user=alice.user, now=now) is not None
    assert deploy_gate_for(slug="payments-api", user=charlie, now=now) is None
    assert deploy_gate_for(slug="payments-api", user=staff, now=now) is not None
    assert deploy_gate_for(slug="nope", user=staff, now=now) is None


def test_a_service_without_slos_allows(service, now):
    gate = deploy_gate(service=service, now=now)
    assert (gate.decision, gate.slo, gate.budget_remaining) == ("allow", None, None)


def test_an_incident_relabelled_into_the_service_counts_at_once(
    service, integration, published, now
):
    incident = service_incident(integration, now - dt.timedelta(hours=1), service="x")
    assert deploy_gate(service=service, now=now).open_incidents == 0
    Incident.objects.filter(pk=incident.pk).update(
        common_labels={**incident.common_labels, "service": "payments-api"}
    )
    assert deploy_gate(service=service, now=now).open_incidents == 1
