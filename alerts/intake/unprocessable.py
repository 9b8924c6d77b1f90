"""A webhook we accepted but could not process pages somebody.

Everything answered 2xx must reach a person.  The door (``parse.py``) refuses what
processing could not handle, so a delivery that still fails is a bug or a body
stored before a check existed; either way an alert may be inside it.  Once a
delivery has used up its attempts (``inbox.MAX_ATTEMPTS``; at once for a body that
does not parse) the inbox sweep opens an incident "webhook could not be
processed" for the integration's team, which escalates like any other.

Once per delivery: the incident is recorded on the delivery in the transaction that
opens it, and only a delivery without one is considered (locked first, so two
sweeps cannot both open one).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open
from alerts.intake.inbox import MAX_ATTEMPTS
from alerts.models import Incident, WebhookDelivery
from alerts.routing import choose_route
from alerts.selectors import maintenance_active, route_rules

logger = logging.getLogger(__name__)

ALERTNAME = "WebhookNotProcessed"


def deliveries_page_unprocessable(*, now: datetime | None = None) -> list[int]:
    """Open an incident for each delivery that ran out of attempts and has none
    yet; returns the ids of the incidents opened.  Idempotent."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            processed_at__isnull=True,
            attempts__gte=MAX_ATTEMPTS,
            failure_incident__isnull=True,
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:100]
    )
    opened: list[int] = []
    for delivery_id in ids:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(of=("self",))
                .select_related("integration")
                .filter(
                    pk=delivery_id,
                    processed_at__isnull=True,
                    failure_incident__isnull=True,
                )
                .first()
            )
            if delivery is None:
                continue  # processed, or paged by a concurrent sweep
            incident = _open(delivery, now)
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                failure_incident=incident
            )
        opened.append(incident.pk)
        logger.error(
            "delivery %s could not be processed: incident #%s opened",
            delivery_id,
            incident.pk,
        )
    return opened


def _open(delivery: WebhookDelivery, now: datetime) -> Incident:
    integration = delivery.integration
    labels = {
        "alertname": ALERTNAME,
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
    spec = IncidentSpec(
        # Not an Alertmanager groupKey (those start with "{"): one group per
        # delivery, so the incident of one delivery never absorbs another's.
        group_key=f"oncall:unprocessable:{delivery.pk}",
        title=f"Webhook could not be processed: delivery {delivery.pk} from "
        f"{integration.name} (received {delivery.received_at:%Y-%m-%d %H:%M:%S} "
        "UTC); its alerts reached nobody",
        team_id=choice.team_id,
        route_id=choice.route_id,
        # The alerts inside could be critical: page as for high urgency whatever
        # the route says (a catch-all at low urgency would hold it till morning).
        routing=f"{choice.decision}; paged at high urgency: the webhook's own "
        "alerts are unknown",
        urgency=Incident.Urgency.HIGH,
        group_labels={"alertname": ALERTNAME},
        common_labels=labels,
        common_annotations={
            "summary": f"delivery {delivery.pk} failed {delivery.attempts} times: "
            f"{delivery.error[:200]}"
        },
        source=Incident.Source.UNPROCESSABLE,
    )
    return incident_open(
        integration=integration,
        spec=spec,
        in_maintenance=window is not None,
        opened_text=f"opened because webhook delivery {delivery.pk} could not be "
        f"processed after {delivery.attempts} attempt(s): {delivery.error[:1000]}",
        at=now,
    )
