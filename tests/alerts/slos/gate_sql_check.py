"""What the deploy gate's one statement (alerts/slos/gate_facts.py) and the API
token's compiled lookup (scheduling/tokens.py) must give on any database: JSON
label matching, the high-urgency incidents' numbers aggregated in SQL, deploys
counted between the team's local midnights, the caller's scope.

Run in-process on SQLite by test_gate_sql_on_both_databases.py, and as ``python
-m tests.alerts.slos.gate_sql_check`` in a child process against PostgreSQL;
both results are plain JSON compared with the same expected answer.
"""

from __future__ import annotations

import datetime as dt
import json

# 21:30 UTC on the 10th is 00:30 on the 11th in Nairobi (the team's zone).
NOW = dt.datetime(2026, 3, 10, 21, 30, tzinfo=dt.UTC)

EXPECTED = {
    "stored": {
        "slo": "availability",
        "stale": False,
        "budget_remaining": 1.0,
        "primary": "gatecheck-alice",
        "in_sleep_hours": True,
        "evaluated_at": "2026-03-10T21:29:00+00:00",
    },
    "by_id": {
        "decision": "freeze",
        "open_incidents": 3,
        "high": "#1, #2",
        "deploys_today": 1,
        "slo": "strict",
        "stale": True,
        "primary": None,  # the worst SLO was never evaluated: resolved, nobody
    },
    "member_sees": True,
    "outsider_sees": False,
    "staff_sees": True,
    "relabelled_open": 1,
    "token_user": "gatecheck-alice",
    "token_scopes": ["deploy-gate"],
}


def check() -> dict:
    from django.contrib.auth import get_user_model

    from alerts.intake.integrations import integration_create
    from alerts.models import SLO, Deploy, Incident, SLOEvaluation
    from alerts.slos.gate import deploy_gate, deploy_gate_for
    from alerts.slos.setup import service_create, service_update, slo_create
    from scheduling.models import TeamMembership
    from scheduling.tokens import api_token_authenticate, api_token_create
    from tests.cast import member_create, team_create

    team = team_create("gatecheck")  # Africa/Nairobi
    alice = member_create("gatecheck-alice")
    TeamMembership.objects.create(team=team, member=alice)
    outsider = member_create("gatecheck-outsider").user
    staff = get_user_model().objects.create_user("gatecheck-root", is_staff=True)
    integration = integration_create(team=team, name="prod").integration
    service = service_create(
        slug="gatecheck-api",
        name="API",
        team=team,
        match_labels={"service": "gatecheck-api", "env": "prod"},
    )
    mine = {"service": "gatecheck-api", "env": "prod", "alertname": "X"}
    cases = [
        (mine, "high", "triggered"),  # 1
        (mine, "high", "acknowledged"),  # 2
        (mine, "low", "triggered"),  # 3
        ({**mine, "env": "staging"}, "high", "triggered"),  # another env
        ({"service": "gatecheck-api"}, "high", "triggered"),  # env missing
        (mine, "high", "resolved"),
        ({**mine, "env": "dev"}, "low", "triggered"),  # 7: open after relabelling
    ]
    Incident.objects.all().delete()
    for n, (labels, urgency, status) in enumerate(cases, start=1):
        Incident.objects.create(
            id=n,
            integration=integration,
            group_key=f"g{n}",
            group_key_hash=f"h{n}",
            title=f"incident {n}",
            team=team,
            urgency=urgency,
            status=status,
            common_labels=labels,
            opened_at=NOW - dt.timedelta(hours=n),
        )
    Deploy.objects.create(
        service=service, at=NOW - dt.timedelta(hours=1)
    )  # 23:30 local
    Deploy.objects.create(service=service, at=NOW - dt.timedelta(minutes=10))  # today
    availability = slo_create(service=service, name="availability", objective="99.9")
    evaluation = SLOEvaluation.objects.create(
        slo=availability,
        evaluated_at=NOW - dt.timedelta(minutes=1),
        window_start=NOW - dt.timedelta(days=30),
        window_end=NOW,
        budget_seconds=2592,
        bad_seconds=0,
        budget_remaining=1.0,
        decision="allow",
        oncall_primary="gatecheck-alice",
        oncall_in_sleep_hours=True,
        oncall_since=NOW - dt.timedelta(hours=1),
        oncall_until=NOW + dt.timedelta(hours=1),
        oncall_version=0,
    )
    SLO.objects.filter(pk=availability.pk).update(latest_evaluation=evaluation)
    stored = deploy_gate(service=service, now=NOW)  # on-call facts as stored
    slo_create(service=service, name="strict", objective="99.99")  # never evaluated

    gate = deploy_gate(service=service, now=NOW)
    result: dict = {
        "stored": {
            "slo": stored.slo,
            "stale": stored.stale,
            "budget_remaining": stored.budget_remaining,
            "primary": stored.oncall.primary,
            "in_sleep_hours": stored.oncall.in_sleep_hours,
            "evaluated_at": stored.evaluated_at.isoformat(),  # type: ignore[union-attr]
        },
        "by_id": {
            "decision": gate.decision,
            "open_incidents": gate.open_incidents,
            "high": "#" + gate.reason.split("(#")[1].split(")")[0],
            "deploys_today": gate.deploys_today,
            "slo": gate.slo,
            "stale": gate.stale,
            "primary": gate.oncall.primary,
        },
    }
    for key, user in (
        ("member_sees", alice.user),
        ("outsider_sees", outsider),
        ("staff_sees", staff),
    ):
        seen = deploy_gate_for(slug="gatecheck-api", user=user, now=NOW)
        result[key] = seen is not None
    service_update(service=service, match_labels={"env": "dev"})
    result["relabelled_open"] = deploy_gate(service=service, now=NOW).open_incidents
    issued = api_token_create(
        user=alice.user, name="ci", scopes=["deploy-gate"], created_by=None, now=NOW
    )
    token = api_token_authenticate(secret=issued.secret, now=NOW)
    assert token is not None
    result["token_user"] = token.user.username
    result["token_scopes"] = token.scopes
    return result


HOT_SQL = {"prepared": ["alerts_service", "scheduling_apitoken"], "recovered": True}


def hot_sql_facts() -> dict:
    """PostgreSQL only (scheduling/hot_sql.py): the token's and the gate's
    statements are prepared on the server, and a connection that broke between
    two requests (its backend terminated, as a restart does) is replaced by the
    lookup itself, which then answers."""
    import os

    import psycopg
    from django.db import connection

    from scheduling.models import ApiToken
    from scheduling.tokens import api_token_authenticate, api_token_create

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE from_sql = false"
        )
        statements = [row[0] for row in cursor.fetchall()]
    prepared = sorted(
        table
        for table in ("alerts_service", "scheduling_apitoken")
        if any(f'FROM "{table}"' in text for text in statements)
    )
    user = ApiToken.objects.first().user  # type: ignore[union-attr]
    issued = api_token_create(
        user=user, name="again", scopes=["deploy-gate"], created_by=None, now=NOW
    )
    before = connection.connection.info.backend_pid
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [before])
    token = api_token_authenticate(secret=issued.secret, now=NOW)
    after = connection.connection.info.backend_pid
    return {"prepared": prepared, "recovered": token is not None and after != before}


if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps({**check(), "hot_sql": hot_sql_facts()}))
