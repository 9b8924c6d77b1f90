"""Incidents of the ``payments-api`` service, opened and resolved at chosen times,
and a ratio SLO of it (the ``service`` and ``slo`` fixtures are in
tests/alerts/conftest.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.models import Incident, Integration
from alerts.slos.setup import slo_create

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


@pytest.fixture
def ratio(service):
    """A Prometheus ratio SLO of ``service``: 99.9 % of requests not 5xx."""
    return slo_create(
        service=service,
        name="requests",
        objective="99.9",
        source="prometheus_ratio",
        good_query='http_requests_total{code!~"5.."}',
        total_query="http_requests_total",
    )
