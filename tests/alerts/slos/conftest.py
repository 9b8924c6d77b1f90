"""Incidents of the ``payments-api`` service, opened and resolved at chosen times
(the ``service`` and ``slo`` fixtures are in tests/alerts/conftest.py)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.models import Incident, Integration

_n = itertools.count()


def service_incident(
    integration: Integration,
    opened: dt.datetime,
    resolved: dt.datetime | None = None,
    *,
    urgency: str = "high",
    service: str = "payments-api",
) -> Incident:
    """An incident labelled ``service=<service>``, open from ``opened`` (to
    ``resolved`` when given)."""
    n = next(_n)
    labels = {"alertname": f"Slow{n}", "service": service}
    with transaction.atomic():
        incident = incident_open(
            integration=integration,
            spec=IncidentSpec(
                group_key=f'{{}}:{{alertname="Slow{n}"}}',
                title=f"Slow{n}",
                team_id=integration.team_id,
                route_id=integration.routes.first().pk,
                routing="test",
                urgency=urgency,
                group_labels={"alertname": labels["alertname"]},
                common_labels=labels,
                common_annotations={},
            ),
            at=opened,
        )
    if resolved is not None:
        incident = incident_resolve(incident=incident, how="manual", at=resolved)
    return incident
