"""What the insights' own SQL must give on any database: alert quality grouped by
a label set read from the stored JSON labels (common labels, else group labels,
else ''), MTBF's percentiles over the gaps (a ``LAG`` window under an aggregate),
and MTTA from the reopening an acknowledgement answered.

Run in-process on SQLite by test_sql_on_both_databases.py, and as ``python -m
tests.alerts.insights.sql_check`` in a child process against PostgreSQL.  The
result is plain JSON, so both runs are compared with the same expected answer.
"""

from __future__ import annotations

import datetime as dt
import json

T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)


def check() -> dict:
    from alerts.incidents.state import (
        incident_acknowledge,
        incident_reopen,
        incident_resolve,
    )
    from alerts.insights.alert_quality import alert_quality
    from alerts.insights.incident_figures import incident_figures
    from alerts.intake.integrations import integration_create
    from alerts.models import Incident
    from scheduling.models import Team, TeamMembership
    from tests.cast import member_create, team_create

    team = team_create("sqlcheck")
    alice = member_create("sqlcheck-alice")
    TeamMembership.objects.create(team=team, member=alice)
    integration = integration_create(team=team, name="prod").integration
    openings = [0, 1, 3, 6, 16]  # hours: gaps 1, 2, 3, 10
    labels = [
        ({"alertname": "DiskFull", "service": "db"}, {}),
        ({"alertname": "DiskFull", "service": "db"}, {}),
        ({"alertname": "DiskFull", "service": "api"}, {}),
        ({}, {"alertname": "DiskFull", "service": "db"}),  # group labels only
        ({"alertname": "Latency"}, {}),  # no service label
    ]
    incidents = []
    for n, (hours, (common, group)) in enumerate(zip(openings, labels, strict=True)):
        incidents.append(
            Incident.objects.create(
                integration=integration,
                group_key=f"g{n}",
                group_key_hash=f"h{n}",
                title=f"incident {n}",
                team=team,
                urgency="high",
                common_labels=common,
                group_labels=group,
                opened_at=T0 + dt.timedelta(hours=hours),
            )
        )
    first = incidents[0]
    incident_resolve(incident=first, by=None, at=T0 + dt.timedelta(minutes=10))
    first.refresh_from_db()
    incident_reopen(
        incident=first, reason="fired again", at=T0 + dt.timedelta(minutes=20)
    )
    first.refresh_from_db()
    incident_acknowledge(incident=first, by=alice, at=T0 + dt.timedelta(minutes=23))

    teams = Team.objects.filter(pk=team.pk)
    end = T0 + dt.timedelta(days=1)
    team_create("sqlcheck-other")  # two teams: the org-wide plan (hash joins)
    quality = alert_quality(
        teams=Team.objects.filter(slug__startswith="sqlcheck"),
        start=T0,
        end=end,
        labels=["alertname", "service"],
    )
    figures = incident_figures(teams=teams, start=T0, end=end)
    per_service = {s.service: s.mtbf for s in figures.services}

    def seconds(value: dt.timedelta | None) -> float | None:
        return None if value is None else round(value.total_seconds(), 1)

    return {
        "groups": sorted(
            [
                [a.key["alertname"], a.key["service"], a.incidents]
                for a in quality.alerts
            ]
        ),
        "mtbf": {
            service: [m.count, seconds(m.mean), seconds(m.median), seconds(m.p90)]
            for service, m in sorted(per_service.items())
        },
        "mtta": [figures.overall.mtta.count, seconds(figures.overall.mtta.mean)],
    }


EXPECTED = {
    "groups": [
        ["DiskFull", "api", 1],
        ["DiskFull", "db", 3],
        ["Latency", "", 1],
    ],
    # db opens at 0, 1 and 6 hours: gaps 1 and 5 hours (median 3, p90 4.6).
    "mtbf": {
        "": [0, None, None, None],
        "api": [0, None, None, None],
        "db": [2, 10800.0, 10800.0, 16560.0],
    },
    # acknowledged 3 minutes after the reopening (23 after the first opening)
    "mtta": [1, 180.0],
}


if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(check()))
