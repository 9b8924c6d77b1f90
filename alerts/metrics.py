"""Scrape-time gauges: the inbox backlog, open incidents, escalation health.

A growing backlog means the workers (or the broker) are not keeping up; failed
deliveries need an operator.  Read from the database at scrape time, so every web
process reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.intake.inbox import unprocessed_count
from alerts.models import OPEN_STATUSES, Escalation, Incident, Page


class AlertsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
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

        # Escalation health: a step overdue by more than a couple of sweep
        # intervals means beat or the workers are not running.
        from django.utils import timezone

        oldest = (
            Escalation.objects.filter(
                state=Escalation.State.ACTIVE, next_action_at__lte=timezone.now()
            )
            .order_by("next_action_at")
            .values_list("next_action_at", flat=True)
            .first()
        )
        overdue = GaugeMetricFamily(
            "oncall_escalation_overdue_seconds",
            "How long the most overdue escalation step has been due (0: none due).",
        )
        overdue.add_metric(
            [], (timezone.now() - oldest).total_seconds() if oldest else 0.0
        )
        yield overdue

        pending = GaugeMetricFamily(
            "oncall_pages_pending",
            "Pages not sent yet: queued (due or waiting), sending (claimed by a "
            "worker), held (storm protection, waiting for a bundle).",
            labels=["status"],
        )
        counts = dict(
            Page.objects.filter(status__in=["queued", "sending", "held"])
            .values_list("status")
            .annotate(n=Count("id"))
        )
        for status in ("queued", "sending", "held"):
            pending.add_metric([status], counts.get(status, 0))
        yield pending
