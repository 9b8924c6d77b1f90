"""Dead man's switch: page when Alertmanager's always-firing heartbeat stops.

Alertmanager or Prometheus being down is the outage nobody else pages for.  The usual
setup is Prometheus' ``Watchdog`` alert (``vector(1)``), routed to us with a short
``repeat_interval``; every notification carrying it proves the whole chain works.
The switch is armed by the first heartbeat, so a new integration does not page before
anything was configured to send one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.models import OPEN_STATUSES, Incident, Integration, hash_group_key
from alerts.routing import choose_route
from alerts.selectors import maintenance_active, route_rules

logger = logging.getLogger(__name__)


# Not an Alertmanager groupKey (those start with "{"), so it can never collide.
DEADMAN_GROUP_KEY = "oncall:heartbeat"


def deadman_seen(*, integration: Integration, at: datetime) -> None:
    """Record a heartbeat; close the switch's incident if it was open."""
    Integration.objects.filter(pk=integration.pk).filter(
        Q(heartbeat_last_seen_at__isnull=True) | Q(heartbeat_last_seen_at__lt=at)
    ).update(heartbeat_last_seen_at=at)
    open_incident = Incident.objects.filter(
        integration=integration,
        group_key_hash=hash_group_key(DEADMAN_GROUP_KEY),
        status__in=OPEN_STATUSES,
    ).first()
    if open_incident is not None:
        incident_resolve(
            incident=open_incident,
            how="heartbeat",
            text=f"heartbeat {integration.heartbeat_alertname} received again",
        )


def deadman_check(*, now: datetime | None = None) -> list[int]:
    """Open an incident for every armed switch whose heartbeat is overdue.

    Returns the ids of incidents opened.  Safe to run concurrently and repeatedly:
    the one-open-incident-per-group constraint turns a second opening into a no-op.
    """
    now = now or timezone.now()
    opened: list[int] = []
    candidates = Integration.objects.filter(
        enabled=True,
        heartbeat_interval__isnull=False,
        heartbeat_last_seen_at__isnull=False,
    ).exclude(
        Exists(
            Incident.objects.filter(
                integration=OuterRef("pk"),
                group_key_hash=hash_group_key(DEADMAN_GROUP_KEY),
                status__in=OPEN_STATUSES,
            )
        )
    )
    for integration in candidates:
        last_seen = integration.heartbeat_last_seen_at
        interval = integration.heartbeat_interval
        if last_seen is None or interval is None:
            continue  # never, given the filter; says so to the type checker
        if last_seen + timedelta(minutes=interval) > now:
            continue
        try:
            with transaction.atomic():
                incident = _open(integration, now, last_seen)
        except IntegrityError:
            continue  # opened meanwhile by a concurrent check
        opened.append(incident.pk)
    return opened


def _open(integration: Integration, now: datetime, last_seen: datetime) -> Incident:
    labels = {
        "alertname": "HeartbeatMissing",
        "integration": integration.name,
        "severity": "critical",
    }
    choice = choose_route(
        route_rules(integration_id=integration.pk),
        labels,
        default_team_id=integration.team_id,
    )
    window = maintenance_active(
        integration_id=integration.pk, team_id=choice.team_id, at=now
    )
    silent = now - last_seen
    minutes = int(silent.total_seconds() // 60)
    title = (
        f"No {integration.heartbeat_alertname} heartbeat from {integration.name} "
        f"for {minutes} min: Alertmanager or Prometheus may be down"
    )
    spec = IncidentSpec(
        group_key=DEADMAN_GROUP_KEY,
        title=title,
        team_id=choice.team_id,
        route_id=choice.route_id,
        routing=choice.decision,
        urgency=choice.urgency,
        group_labels={"alertname": "HeartbeatMissing"},
        common_labels=labels,
        common_annotations={},
        source=Incident.Source.HEARTBEAT,
    )
    incident = incident_open(
        integration=integration,
        spec=spec,
        in_maintenance=window is not None,
        opened_text=f"opened by the dead man's switch: last heartbeat at "
        f"{integration.heartbeat_last_seen_at:%Y-%m-%d %H:%M:%S} UTC, expected every "
        f"{integration.heartbeat_interval} min",
        at=now,
    )
    logger.warning("dead man's switch fired for integration %s", integration.pk)
    return incident
