"""What ``alerts.bulk_update.update_objects`` must do on any database: write every
field type the intake writes (JSON with nesting and non-ASCII text, nullable
datetimes, text) to each row's own values, and touch no other row.

Run in-process on SQLite by test_bulk_update.py, and as ``python -m
tests.alerts.bulk_update_check`` in a child process against PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json

UTC = dt.UTC


def check() -> dict:
    from alerts.bulk_update import update_objects
    from alerts.intake.integrations import integration_create
    from alerts.intake.rules import ALERT_UPDATE_FIELDS
    from alerts.models import Alert
    from tests.cast import team_create

    team = team_create("bulk")
    integration = integration_create(team=team, name="bulk").integration
    at = dt.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
    rows = [
        Alert.objects.create(
            integration=integration,
            fingerprint=f"fp{n}",
            labels={"n": str(n)},
            annotations={},
            status="firing",
            starts_at=at,
            last_received_at=at,
        )
        for n in range(4)
    ]
    later = at + dt.timedelta(hours=1)
    rows[0].annotations = {
        "description": "5xx ratio is 7.4 % — «payments»",
        "n": [1, {"x": None}],
    }
    rows[0].ends_at = None
    rows[1].labels = {"n": "1", "instance": "10.0.0.1:9100"}
    rows[1].status = "resolved"
    rows[1].ends_at = later
    rows[2].generator_url = "http://prometheus/graph?g0.expr=up%3D%3D0&g0.tab=1"
    rows[2].starts_at = None
    for row in rows[:3]:
        row.last_received_at = later
        row.updated_at = later
    untouched = Alert.objects.filter(pk=rows[3].pk).values().get()
    update_objects(rows[:3], ALERT_UPDATE_FIELDS)
    got = {a.pk: a for a in Alert.objects.filter(pk__in=[r.pk for r in rows])}
    mismatches = [
        f"{row.fingerprint}.{name}: {getattr(got[row.pk], name)!r}"
        f" != {getattr(row, name)!r}"
        for row in rows[:3]
        for name in ALERT_UPDATE_FIELDS
        if getattr(got[row.pk], name) != getattr(row, name)
    ]
    after = Alert.objects.filter(pk=rows[3].pk).values().get()
    return {"mismatches": mismatches, "untouched": after == untouched}


if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(check()))
