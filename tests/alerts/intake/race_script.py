"""Run inside a child process against PostgreSQL (see test_postgres_race.py).

``load``: create the integration, store the deliveries, enqueue one task each.
``check``: print a JSON summary of what the workers made of them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alertmanager" / "raw"
GROUPS = 40


def variant(name: str, service: str) -> str:
    """A recorded body moved to another service: same shape, another group."""
    from alerts.intake.parse import am_fingerprint

    data = json.loads((FIXTURES / f"{name}.body").read_bytes())
    for alert in data["alerts"]:
        alert["labels"]["service"] = service
        alert["fingerprint"] = am_fingerprint(alert["labels"])
    data["groupLabels"]["service"] = service
    data["commonLabels"]["service"] = service
    data["groupKey"] = data["groupKey"].replace('"checkout"', f'"{service}"')
    return json.dumps(data)


def load() -> None:
    from django.utils import timezone

    from alerts.intake.integrations import integration_create
    from alerts.models import WebhookDelivery
    from alerts.tasks import process_delivery
    from scheduling.models import Team

    team = Team.objects.create(slug="race", name="Race")
    integration = integration_create(team=team, name="am").integration
    ids = []
    # Four groups at a time, round by round: each group's three deliveries are four
    # apart, so batches of a few straddle them and two workers hold deliveries of
    # the same group at the same moment.
    names = (
        "b_group_of_three_firing",
        "b_group_of_three_firing",
        "c_group_partial_resolve",
    )
    order = [
        (name, i)
        for chunk in range(0, GROUPS, 4)
        for name in names
        for i in range(chunk, min(chunk + 4, GROUPS))
    ]
    for name, i in order:
        body = variant(name, f"svc-{i:03d}")
        ids.append(
            WebhookDelivery.objects.create(
                integration=integration,
                body=body,
                auth="bearer",
                group_key=json.loads(body)["groupKey"],
                received_at=timezone.now(),
            ).pk
        )
    for pk in ids:
        process_delivery.apply_async(args=(pk,))
    print(json.dumps({"deliveries": len(ids)}))


def check() -> None:
    from django.db.models import Count

    from alerts.models import Alert, Incident, IncidentAlert, WebhookDelivery

    per_group = list(
        Incident.objects.values("group_key")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    print(
        json.dumps(
            {
                "pending": WebhookDelivery.objects.filter(
                    processed_at__isnull=True
                ).count(),
                "errors": list(
                    WebhookDelivery.objects.exclude(error="").values_list(
                        "error", flat=True
                    )
                ),
                "incidents": Incident.objects.count(),
                "open": Incident.objects.filter(status="triggered").count(),
                "max_incidents_per_group": max(per_group, default=0),
                "alerts": Alert.objects.count(),
                "links": IncidentAlert.objects.count(),
                "resolved_links": IncidentAlert.objects.filter(
                    status="resolved"
                ).count(),
            }
        )
    )


if __name__ == "__main__":
    django.setup()
    {"load": load, "check": check}[sys.argv[1]]()
