"""Who the deploy gate says would be paged: stored with the evaluation
(alerts/slos/oncall.py), used while it holds, recomputed once when it expires."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.insights.windows import SLEEP, Windows
from alerts.models import SLOEvaluation
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import deploy_gate
from alerts.slos.oncall import next_sleep_edge
from scheduling.overrides import override_create

pytestmark = pytest.mark.django_db

SCHEDULE_TABLES = ("scheduling_shift", "scheduling_override", "scheduling_rotation")


@pytest.fixture
def today():
    """Today 00:00 UTC: alice (UTC, sleeps 22:00-08:00) is primary for a week."""
    return (
        timezone.now()
        .astimezone(dt.UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )


def _gate_sql(service, at) -> tuple[object, str]:
    with CaptureQueriesContext(connection) as queries:
        gate = deploy_gate(service=service, now=at)
    return gate, " ".join(q["sql"] for q in queries.captured_queries)


def test_the_evaluation_stores_the_primary_until_the_next_sleep_edge(
    slo, rotation, today
):
    evaluation = slo_evaluate(slo=slo, now=today + dt.timedelta(hours=12))
    assert evaluation is not None
    assert (evaluation.oncall_primary, evaluation.oncall_in_sleep_hours) == (
        "alice",
        False,
    )
    # Awake at noon; her night starts at 22:00 UTC, before the handoff in 7 days.
    assert evaluation.oncall_until == today + dt.timedelta(hours=22)


def test_while_the_facts_hold_the_gate_does_no_schedule_work(
    slo, service, rotation, today
):
    noon = today + dt.timedelta(hours=12)
    slo_evaluate(slo=slo, now=noon)
    gate, sql = _gate_sql(service, noon + dt.timedelta(minutes=1))
    assert (gate.oncall.primary, gate.oncall.in_sleep_hours) == ("alice", False)
    assert not [t for t in SCHEDULE_TABLES if t in sql], sql


def test_past_the_sleep_edge_it_recomputes_once_then_stores(
    slo, service, rotation, today
):
    slo_evaluate(slo=slo, now=today + dt.timedelta(hours=12))
    night = today + dt.timedelta(hours=22, minutes=30)

    gate, sql = _gate_sql(service, night)
    assert (gate.oncall.primary, gate.oncall.in_sleep_hours) == ("alice", True)
    assert "scheduling_shift" in sql  # expired: resolved again
    stored = SLOEvaluation.objects.get()
    # Asleep until 08:00 tomorrow, her next sleep edge.
    assert (stored.oncall_in_sleep_hours, stored.oncall_until) == (
        True,
        today + dt.timedelta(days=1, hours=8),
    )
    again, sql = _gate_sql(service, night + dt.timedelta(minutes=5))
    assert again.oncall == gate.oncall
    assert "scheduling_shift" not in sql


def test_past_the_handoff_it_names_the_next_primary(slo, service, rotation, today):
    slo_evaluate(slo=slo, now=today + dt.timedelta(days=6, hours=23))
    stored = SLOEvaluation.objects.get()
    # Asleep at 23:00, and the week ends at midnight: the handoff comes first.
    assert (stored.oncall_primary, stored.oncall_in_sleep_hours) == ("alice", True)
    assert stored.oncall_until == today + dt.timedelta(days=7)

    after = deploy_gate(service=service, now=today + dt.timedelta(days=7, minutes=1))
    assert (after.oncall.primary, after.oncall.in_sleep_hours) == ("charlie", True)


def test_an_override_after_the_evaluation_changes_the_answer_at_once(
    slo,
    service,
    rotation,
    people,
    today,
    django_capture_on_commit_callbacks,
):
    noon = today + dt.timedelta(hours=12)
    slo_evaluate(slo=slo, now=noon)
    assert deploy_gate(service=service, now=noon).oncall.primary == "alice"

    frank = next(p for p in people if p.user.username == "frank")
    with django_capture_on_commit_callbacks(execute=True):
        override_create(
            rotation=rotation,
            role="primary",
            member=frank,
            starts_at=noon - dt.timedelta(hours=1),
            ends_at=noon + dt.timedelta(hours=3),
        )
    # The stored facts hold by the clock until 22:00, but the schedule changed.
    assert deploy_gate(service=service, now=noon).oncall.primary == "frank"


def test_a_gate_asked_before_the_facts_were_computed_does_not_use_them(
    slo, service, rotation, today
):
    slo_evaluate(slo=slo, now=today + dt.timedelta(hours=12))
    early = deploy_gate(service=service, now=today + dt.timedelta(hours=2))
    assert (early.oncall.primary, early.oncall.in_sleep_hours) == ("alice", True)


def test_across_a_dst_jump_the_sleep_edge_is_the_jump_itself():
    # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).  A night that
    # ends at 02:30 local ends when the clocks jump, not an hour later.
    windows = Windows(sleep_start=dt.time(22, 0), sleep_end=dt.time(2, 30))
    at = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # 01:30 CET, asleep
    assert windows.kind_of(at, "Europe/Berlin") == SLEEP
    edge = next_sleep_edge(windows, at, "Europe/Berlin")
    assert edge == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    assert windows.kind_of(edge - dt.timedelta(seconds=1), "Europe/Berlin") == SLEEP
    assert windows.kind_of(edge, "Europe/Berlin") != SLEEP


def test_an_ordinary_night_ends_at_the_wall_clock_edge_in_the_members_zone():
    windows = Windows()  # 22:00-08:00
    at = dt.datetime(2026, 6, 1, 23, 0, tzinfo=dt.UTC)  # 02:00 in Nairobi
    edge = next_sleep_edge(windows, at, "Africa/Nairobi")
    assert edge == dt.datetime(2026, 6, 2, 5, 0, tzinfo=dt.UTC)  # 08:00 local
