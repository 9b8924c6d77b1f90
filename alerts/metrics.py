"""Scrape-time gauges: the inbox backlog and open incidents.

A growing backlog means the workers (or the broker) are not keeping up; failed
deliveries need an operator.  Read from the database at scrape time, so every web
process reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class AlertsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from alerts.deliveries import unprocessed_count
        from alerts.models import OPEN_STATUSES, Incident

        backlog = GaugeMetricFamily(
            "oncall_webhook_deliveries_unprocessed",
            "Accepted Alertmanager webhooks not processed yet (pending) or given up "
            "on after repeated failures (failed).",
            labels=["state"],
        )
        for state, count in unprocessed_count().items():
            backlog.add_metric([state], count)
        yield backlog

        incidents = GaugeMetricFamily(
            "oncall_incidents_open",
            "Open incidents by team, status and urgency.",
            labels=["team", "status", "urgency"],
        )
        rows = (
            Incident.objects.filter(status__in=OPEN_STATUSES)
            .values_list("team__slug", "status", "urgency")
            .annotate(n=Count("id"))
        )
        for team, status, urgency, count in rows:
            incidents.add_metric([team, status, urgency], count)
        yield incidents
