"""The deploy gate's answer time, from stored evaluations; print figures.

    .venv/bin/python bench/slo_gate.py [--calls 2000] [--postgres] [--profile]

A team with a weekly paired rotation of six, a service with three incident-time
SLOs evaluated over a month of history (a week of evaluations each, as the
periodic task leaves them), a few open incidents of other services.  Measures
``deploy_gate`` (the service) and ``GET /api/v1/services/<slug>/deploy-gate``
through Django's test client with a deploy-gate token (the whole stack: auth,
throttle, access, serializer).  The issue asks for <= 5 ms p99.  Each line also
gives the process CPU time per call (the machine may be shared: wall-clock
percentiles then include waiting for a core).  ``--profile`` prints where the
service call's time goes (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import statistics
import time

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.intake.integrations import integration_create
from alerts.models import SLOEvaluation
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import deploy_gate
from alerts.slos.setup import service_create, slo_create
from scheduling.materialize import rotation_materialize
from scheduling.models import (
    Member,
    Rotation,
    RotationParticipant,
    Team,
    TeamMembership,
)
from scheduling.tokens import api_token_create


def build() -> tuple[object, str]:
    now = timezone.now()
    team = Team.objects.create(slug="payments", name="Payments", time_zone="UTC")
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"u{i}") for i in range(6)])
    members = Member.objects.bulk_create(
        [Member(user=u, phone=f"+25470000000{i}") for i, u in enumerate(users)]
    )
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, member=m) for m in members]
    )
    rotation = Rotation.objects.create(
        team=team, name="weekly", start_date=(now - dt.timedelta(days=60)).date()
    )
    RotationParticipant.objects.bulk_create(
        [
            RotationParticipant(rotation=rotation, member=m, position=i)
            for i, m in enumerate(members)
        ]
    )
    rotation_materialize(rotation=rotation)
    integration = integration_create(team=team, name="prod").integration
    route = integration.routes.first()
    service = service_create(
        slug="payments-api",
        name="Payments API",
        team=team,
        match_labels={"service": "payments-api"},
    )
    for n in range(60):
        opened = now - dt.timedelta(hours=12 * n + 3)
        labels = {"alertname": f"A{n}", "service": "payments-api" if n % 2 else "x"}
        with transaction.atomic():
            incident = incident_open(
                integration=integration,
                spec=IncidentSpec(
                    group_key=f"bench{n}",
                    title=f"A{n}",
                    team_id=team.pk,
                    route_id=route.pk if route else None,
                    routing="bench",
                    urgency="high" if n % 3 else "low",
                    group_labels=labels,
                    common_labels=labels,
                    common_annotations={},
                ),
                in_maintenance=True,  # nobody is paged for the bench's history
                at=opened,
            )
        if n > 2:
            incident_resolve(incident=incident, at=opened + dt.timedelta(minutes=7))
    for name, objective in (("availability", "99.9"), ("strict", "99.99"), ("p", "99")):
        slo = slo_create(service=service, name=name, objective=objective)
        evaluated = slo_evaluate(slo=slo, now=now)
        assert evaluated is not None
        # A week of minutely evaluations, as the periodic task keeps them.
        SLOEvaluation.objects.bulk_create(
            [
                SLOEvaluation(
                    slo=slo,
                    evaluated_at=now - dt.timedelta(minutes=m),
                    window_start=evaluated.window_start,
                    window_end=evaluated.window_end,
                    budget_seconds=evaluated.budget_seconds,
                    bad_seconds=evaluated.bad_seconds,
                    budget_remaining=evaluated.budget_remaining,
                    burn_1h=0,
                    burn_6h=0,
                    decision=evaluated.decision,
                )
                for m in range(1, 7 * 24 * 60)
            ],
            batch_size=2000,
        )
    secret = api_token_create(
        user=users[0], name="ci", scopes=["deploy-gate"], created_by=None, now=now
    ).secret
    return service, secret


def figures(label: str, times: list[float], queries: int, cpu: float) -> None:
    times.sort()
    print(
        f"{label:<34} {queries:2d} queries/call  median "
        f"{statistics.median(times) * 1e3:6.3f} ms  "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:6.3f} ms  "
        f"CPU {cpu / len(times) * 1e3:6.3f} ms/call"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    service, secret = build()
    print(f"database: {connection.vendor}; {args.calls} calls each")

    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        deploy_gate(service=service)
    times = []
    cpu = time.process_time()
    for _ in range(args.calls):
        started = time.perf_counter()
        deploy_gate(service=service)
        times.append(time.perf_counter() - started)
    figures("deploy_gate (service)", times, len(executed), time.process_time() - cpu)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(200):
            deploy_gate(service=service)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="localhost")
    path = "/api/v1/services/payments-api/deploy-gate"
    first = client.get(path)
    assert first.status_code == 200, first.content
    executed.clear()
    with connection.execute_wrapper(count):
        client.get(path)
    times = []
    cpu = time.process_time()
    for _ in range(args.calls):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu
    assert response.status_code == 200, response.content
    assert response.json()["oncall"]["primary"] is not None, response.content
    figures("GET …/deploy-gate (whole stack)", times, len(executed), cpu)


if __name__ == "__main__":
    main()
