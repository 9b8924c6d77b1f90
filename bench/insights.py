"""Insights reports on a year of history: 50 teams, 300 members, 100,000 incidents,
250,000 pages.

    make bench-insights        # or: .venv/bin/python bench/insights.py [--postgres]
                               #     [--teams 50] [--incidents 100000] [--runs 5]

Each team has six members (one in six in another time zone), a weekly paired
rotation and an integration; incidents are spread evenly over the year with 40
alert names; each pages the primary by SMS, and half of them a call, a secondary
SMS and a secondary call (2.5 pages an incident).  Rows are bulk-inserted (the
engine's shape, not its speed, is what the reports read).

With ``ONCALL_DATA_DIR`` set to a directory kept from an earlier run, the data is
reused (SQLite) instead of built again.

Printed: a team's quarter (page load, health flags, incident figures, alert
quality: each separately and together), the insights page itself (the admin view
rendered through Django's test client, charts and template included, 13 weeks),
and the org-wide alert-quality report over the year: median and max of ``--runs``
runs over different teams, with their query counts, and the process's CPU time
per run (the machine may be shared).  Targets (issue 16): a team's quarter
<= 500 ms, org-wide alert quality <= 2 s; the page well under 500 ms.

With ``DATABASE_URL`` set (and no ``--postgres``) the bench uses that database
and reuses the data a former run built there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.insights.alert_quality import alert_quality
from alerts.insights.health import health
from alerts.insights.incident_figures import incident_figures
from alerts.insights.page_load import page_load
from alerts.intake.integrations import integration_create
from alerts.models import Incident, Page, hash_group_key
from scheduling.materialize import rotation_materialize
from scheduling.models import (
    Member,
    Rotation,
    RotationParticipant,
    Team,
    TeamMembership,
)

parser = argparse.ArgumentParser()
parser.add_argument("--teams", type=int, default=50)
parser.add_argument("--incidents", type=int, default=100_000)
parser.add_argument("--runs", type=int, default=5)
parser.add_argument(
    "--slowest", action="store_true", help="print each report's slowest queries"
)
parser.add_argument(
    "--explain", action="store_true", help="PostgreSQL: EXPLAIN ANALYZE them too"
)
args = parser.parse_args()

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)
ZONES = ["Africa/Nairobi", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]
rng = random.Random(16)


def build() -> list[Team]:
    User = get_user_model()
    teams = []
    for t in range(args.teams):
        zone = ZONES[t % len(ZONES)]
        team = Team.objects.create(slug=f"team{t}", name=f"Team {t}", time_zone=zone)
        members = []
        for m in range(6):
            user = User.objects.create_user(f"u{t}_{m}")
            members.append(
                Member.objects.create(
                    user=user,
                    phone=f"+2547{t:03d}{m:05d}",
                    time_zone=ZONES[(t + 1) % len(ZONES)] if m == 5 else zone,
                )
            )
        TeamMembership.objects.bulk_create(
            [TeamMembership(team=team, member=m) for m in members]
        )
        rotation = Rotation.objects.create(
            team=team,
            name="weekly",
            scheme="paired",
            start_date=(NOW - YEAR - dt.timedelta(days=7)).date(),
        )
        RotationParticipant.objects.bulk_create(
            [
                RotationParticipant(rotation=rotation, member=m, position=i)
                for i, m in enumerate(members)
            ]
        )
        rotation_materialize(rotation=rotation, now=NOW)
        integration_create(team=team, name="prod")
        team.bench_members = members  # type: ignore[attr-defined]
        teams.append(team)
    return teams


def fill(teams: list[Team]) -> None:
    names = [f"Alert{n}" for n in range(40)]
    per_team = args.incidents // len(teams)
    for team in teams:
        integration = team.integrations.get()
        route = integration.routes.first()
        members = team.bench_members  # type: ignore[attr-defined]
        incidents = []
        for _ in range(per_team):
            opened = (
                NOW - YEAR + dt.timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))
            )
            week = int((opened - (NOW - YEAR)).days // 7)
            primary, secondary = members[week % 6], members[(week + 1) % 6]
            name = rng.choice(names)
            key = f'{{}}:{{alertname="{name}"}}#{rng.random()}'
            acked = rng.random() < 0.8
            incidents.append(
                Incident(
                    integration=integration,
                    group_key=key,
                    group_key_hash=hash_group_key(key),
                    title=name,
                    team=team,
                    route=route,
                    urgency="high" if rng.random() < 0.8 else "low",
                    status="resolved",
                    common_labels={
                        "alertname": name,
                        "service": f"svc{hash(name) % 10}",
                    },
                    opened_at=opened,
                    acknowledged_at=opened + dt.timedelta(minutes=rng.uniform(1, 15))
                    if acked
                    else None,
                    acknowledged_by=primary if acked else None,
                    resolved_at=opened + dt.timedelta(minutes=rng.uniform(5, 120)),
                    resolved_how="manual" if acked else "alerts",
                )
            )
            incidents[-1].bench = (primary, secondary)  # type: ignore[attr-defined]
        Incident.objects.bulk_create(incidents, batch_size=2000)
        pages = []
        for incident in incidents:
            primary, secondary = incident.bench  # type: ignore[attr-defined]
            at = incident.opened_at
            plan = [(0, primary, "sms", at)]
            if rng.random() < 0.5:
                plan += [
                    (0, primary, "voice", at + dt.timedelta(minutes=2)),
                    (1, secondary, "sms", at + dt.timedelta(minutes=5)),
                    (1, secondary, "voice", at + dt.timedelta(minutes=7)),
                ]
            for step, member, channel, due in plan:
                pages.append(
                    Page(
                        incident=incident,
                        step=step,
                        member=member,
                        channel=channel,
                        status="delivered",
                        created_at=due,
                        step_due_at=due,
                        due_at=due,
                        sent_at=due + dt.timedelta(seconds=2),
                    )
                )
        Page.objects.bulk_create(pages, batch_size=5000)


def timed(fn, **kwargs) -> tuple[float, int, float]:
    with CaptureQueriesContext(connection) as queries:
        began, cpu = time.perf_counter(), time.process_time()
        fn(**kwargs)
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
    return took, len(queries), cpu


def slowest(label: str, fn, **kwargs) -> None:
    with CaptureQueriesContext(connection) as queries:
        fn(**kwargs)
    print(f"-- {label}")
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"   {float(q['time']) * 1000:8.1f} ms  {q['sql'][:400]}")
        if args.explain and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + q["sql"])
                print("\n".join("      " + row[0] for row in cursor.fetchall()))


def report(label: str, samples: list[tuple[float, int, float]]) -> None:
    times = [s[0] * 1000 for s in samples]
    cpu = [s[2] * 1000 for s in samples]
    counts = sorted({s[1] for s in samples})
    print(
        f"{label:<42} median {statistics.median(times):8.1f} ms   max "
        f"{max(times):8.1f} ms   cpu median {statistics.median(cpu):7.1f} ms   "
        f"queries {counts}"
    )


def page_client():
    """A staff user's test client for the insights page (as the admin renders it:
    middleware, access check, reports, pygal charts, template)."""
    from django.test import Client

    User = get_user_model()
    user = User.objects.filter(username="bench-staff").first()
    if user is None:
        user = User.objects.create_superuser("bench-staff", password=None)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def page(client, team: Team) -> None:
    response = client.get(
        f"/admin/alerts/insightsettings/team/{team.pk}/", {"weeks": "13"}
    )
    assert response.status_code == 200, response.status_code
    assert b'id="heatmap"' in response.content


def main() -> None:
    began = time.perf_counter()
    if Team.objects.exists():  # ONCALL_DATA_DIR named a database built before
        teams = list(Team.objects.order_by("pk"))
    else:
        teams = build()
        fill(teams)
    print(
        f"{connection.vendor}: {Team.objects.count()} teams, {Member.objects.count()} "
        f"members, {Incident.objects.count()} incidents, {Page.objects.count()} pages "
        f"(built in {time.perf_counter() - began:.0f} s)"
    )
    quarter_end = NOW - dt.timedelta(days=30)
    quarter = {"start": quarter_end - dt.timedelta(days=91), "end": quarter_end}
    chosen = [teams[(i * 7) % len(teams)] for i in range(args.runs)]
    rows: dict[str, list[tuple[float, int]]] = {}

    def one_team(team: Team) -> None:
        scope = Team.objects.filter(pk=team.pk)
        page_load(team=team, **quarter)
        health(team=team, **quarter)
        incident_figures(teams=scope, **quarter)
        alert_quality(teams=scope, **quarter)

    client = page_client()
    page(client, chosen[0])  # warm: templates, URL conf, pygal
    for team in chosen:
        scope = Team.objects.filter(pk=team.pk)
        for label, fn, kwargs in [
            ("team quarter: page load", page_load, {"team": team, **quarter}),
            (
                "team quarter: health flags (+ page load)",
                health,
                {"team": team, **quarter},
            ),
            (
                "team quarter: incident figures",
                incident_figures,
                {"teams": scope, **quarter},
            ),
            ("team quarter: alert quality", alert_quality, {"teams": scope, **quarter}),
            ("team quarter: all four", one_team, {"team": team}),
            (
                "insights page, 13 weeks (rendered)",
                page,
                {"client": client, "team": team},
            ),
        ]:
            rows.setdefault(label, []).append(timed(fn, **kwargs))
    everyone = Team.objects.all()
    for _ in range(max(1, args.runs // 2)):
        rows.setdefault("org-wide alert quality, one year", []).append(
            timed(alert_quality, teams=everyone, start=NOW - YEAR, end=NOW)
        )
    for label, samples in rows.items():
        report(label, samples)
    if args.slowest:
        team = chosen[0]
        slowest("page load", page_load, team=team, **quarter)
        slowest("health", health, team=team, **quarter)
        slowest(
            "org-wide alert quality",
            alert_quality,
            teams=everyone,
            start=NOW - YEAR,
            end=NOW,
        )


main()
