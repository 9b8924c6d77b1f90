"""The cast and helpers for escalation tests.

Payments (UTC) has alice, bob and charlie.  A weekly paired rotation that started
this week at 00:00 UTC makes alice the on-call primary and bob the secondary.
``drive`` plays beat and worker in this process: it runs the sweep's claims and
the tasks' services directly, at a chosen ``now``, until nothing more is due.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alerts.escalation.claims import escalations_claim
from alerts.escalation.engine import escalations_advance
from alerts.incidents.state import IncidentSpec, incident_open
from alerts.intake.integrations import integration_create
from alerts.models import EscalationPolicy, EscalationStep, Incident, Integration, Page
from alerts.paging.bundles import bundle_send, bundles_gather_and_claim
from alerts.paging.claims import pages_claim
from alerts.paging.send import pages_send
from alerts.transports import console
from scheduling.materialize import rotation_materialize
from scheduling.models import Member, Rotation, RotationParticipant, Team
from scheduling.selectors import oncall_at

PHONES = {
    "alice": "+254700000001",
    "bob": "+254700000002",
    "charlie": "+254700000003",
}


def make_member(username: str) -> Member:
    user = get_user_model().objects.create_user(
        username=username, first_name=username.title()
    )
    return Member.objects.create(user=user, phone=PHONES[username])


@pytest.fixture(autouse=True)
def _clean_outbox():
    console.clear()
    yield
    console.clear()


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(slug="payments", name="Payments", time_zone="UTC")


@pytest.fixture
def alice(team) -> Member:
    member = make_member("alice")
    team.members.add(member)
    return member


@pytest.fixture
def bob(team) -> Member:
    member = make_member("bob")
    team.members.add(member)
    return member


@pytest.fixture
def charlie(team) -> Member:
    member = make_member("charlie")
    team.members.add(member)
    return member


@pytest.fixture
def rotation(team, alice, bob, charlie) -> Rotation:
    today = timezone.now().astimezone(dt.UTC).date()
    rotation = Rotation.objects.create(
        team=team,
        name="weekly",
        scheme="paired",
        shift_length=1,
        shift_unit="weeks",
        start_date=today,
        handoff_time=dt.time(0, 0),
        handoff_weekday=today.weekday(),
        time_zone="UTC",
    )
    for position, member in enumerate([alice, bob]):
        RotationParticipant.objects.create(
            rotation=rotation, member=member, position=position
        )
    rotation_materialize(rotation=rotation)
    now = oncall_at(team=team, at=timezone.now())
    assert (now.primary, now.secondary) == (alice, bob)
    return rotation


@pytest.fixture
def integration(team) -> Integration:
    return integration_create(team=team, name="prod").integration


def add_policy(team: Team, *steps: dict, name: str = "standard", **fields):
    policy = EscalationPolicy.objects.create(team=team, name=name, **fields)
    for position, step in enumerate(steps):
        EscalationStep.objects.create(policy=policy, position=position, **step)
    return policy


@pytest.fixture
def policy(team, rotation) -> EscalationPolicy:
    """Primary by SMS at once, then the secondary by SMS after 5 minutes."""
    return add_policy(
        team,
        {"target": "primary", "channel": "sms"},
        {"target": "secondary", "channel": "sms", "delay": timedelta(minutes=5)},
        team_default=True,
    )


_counter = {"n": 0}


def open_incident(
    integration: Integration,
    *,
    alertname: str = "HighErrorRate",
    severity: str = "critical",
    summary: str = "5xx above 5% for 10 minutes",
    at: dt.datetime | None = None,
    in_maintenance: bool = False,
) -> Incident:
    _counter["n"] += 1
    labels = {"alertname": alertname, "severity": severity}
    spec = IncidentSpec(
        group_key=f'{{}}:{{alertname="{alertname}"}}#{_counter["n"]}',
        title=f"{alertname}: {summary}",
        team_id=integration.team_id,
        route_id=integration.routes.first().pk,
        routing="test",
        urgency="high",
        group_labels={"alertname": alertname},
        common_labels=labels,
        common_annotations={"summary": summary},
    )
    with transaction.atomic():
        return incident_open(
            integration=integration, spec=spec, at=at, in_maintenance=in_maintenance
        )


def drive(now: dt.datetime | None = None, *, rounds: int = 10) -> list[str]:
    """Beat and worker, in process: claim what is due at ``now`` and run it."""
    now = now or timezone.now()
    results: list[str] = []
    for _ in range(rounds):
        did = False
        for incident_id in [pk for pk, _ in escalations_claim(now=now, limit=1000)]:
            results.append(
                escalations_advance(incident_ids=[incident_id], now=now)[incident_id]
            )
            did = True
        for page_id in [pk for pk, _ in pages_claim(now=now, limit=1000)]:
            results.append(pages_send(page_ids=[page_id], now=now)[page_id])
            did = True
        for bundle_id in bundles_gather_and_claim(now=now, limit=1000):
            results.append(bundle_send(bundle_id=bundle_id, now=now))
            did = True
        if not did:
            break
    return results


def sent(to: str | None = None, kind: str | None = None):
    return [
        s
        for s in console.OUTBOX
        if (to is None or s.to == to) and (kind is None or s.kind == kind)
    ]


def pages(**filters) -> list[Page]:
    return list(Page.objects.filter(**filters).order_by("created_at", "pk"))


def later(minutes: float) -> dt.datetime:
    return timezone.now() + timedelta(minutes=minutes)
