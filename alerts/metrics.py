"""Scrape-time gauges: the inbox backlog, open incidents, escalation health, the
insights totals (pages per team and channel, sleep-hour pages, time to
acknowledge), and each SLO's budget left and burn rates.

A growing backlog means the workers (or the broker) are not keeping up; failed
deliveries need an operator.  Read from the database at scrape time, so every web
process reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from alerts.insights.totals import (
    TTA_BUCKETS,
    pages_sent_by_team_and_channel,
    sleep_pages_by_team,
    tta_histogram_by_team,
)
from alerts.intake.inbox import unprocessed_count
from alerts.models import OPEN_STATUSES, Escalation, Incident, Page
from alerts.slos.evaluate import slos_with_latest


class AlertsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
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
        yield from insights_metrics()
        yield from slo_metrics()


def slo_metrics() -> Iterator[GaugeMetricFamily]:
    """Per SLO (labels ``service`` and ``slo``: bounded by the SLOs configured),
    from its latest stored evaluation; an SLO never evaluated has no sample."""
    budget = GaugeMetricFamily(
        "oncall_slo_budget_remaining",
        "Fraction of the SLO's error budget left at its latest evaluation "
        "(negative when overspent).",
        labels=["service", "slo"],
    )
    burn = GaugeMetricFamily(
        "oncall_slo_burn_rate",
        "How fast the SLO's budget burns over the window (1: exactly the budget "
        "over the SLO's window).",
        labels=["service", "slo", "window"],
    )
    stale = GaugeMetricFamily(
        "oncall_slo_evaluation_stale",
        "1 when the SLO's latest evaluation kept old figures (its source failed).",
        labels=["service", "slo"],
    )
    # The stubs cannot see annotations made in another function: hence the ignore.
    rows = (
        slos_with_latest()
        .order_by("pk")
        .values_list(  # type: ignore[misc]
            "service__slug",
            "name",
            "latest_budget_remaining",
            "latest_burn_1h",
            "latest_burn_6h",
            "latest_stale",
        )
    )
    for service, name, remaining, burn_1h, burn_6h, is_stale in rows:
        if remaining is None:
            continue
        budget.add_metric([service, name], remaining)
        for window, value in (("1h", burn_1h), ("6h", burn_6h)):
            if value is not None:
                burn.add_metric([service, name, window], value)
        stale.add_metric([service, name], 1.0 if is_stale else 0.0)
    yield budget
    yield burn
    yield stale


def insights_metrics() -> Iterator[Any]:
    """Labels: ``team`` and ``channel`` only (never an alert's labels), so the
    series number about 2 × teams + teams + 10 × teams."""
    from django.utils import timezone

    sent = CounterMetricFamily(
        "oncall_pages_sent",
        "SMS and calls that went out (bundled pages each count), by the incident's "
        "team and the channel.",
        labels=["team", "channel"],
    )
    for (team, channel), n in sorted(pages_sent_by_team_and_channel().items()):
        sent.add_metric([team, channel], n)
    yield sent

    sleep = GaugeMetricFamily(
        "oncall_sleep_hour_pages_7d",
        "Interruptions in the paged member's sleep hours (their zone, the team's "
        "hours) over the last 7 days, by team.",
        labels=["team"],
    )
    for team, n in sorted(sleep_pages_by_team(now=timezone.now()).items()):
        sleep.add_metric([team], n)
    yield sleep

    tta = HistogramMetricFamily(
        "oncall_incident_time_to_acknowledge_seconds",
        "Opening to acknowledgement of acknowledged incidents, by team.",
        labels=["team"],
    )
    for team, (cumulative, count, total) in sorted(tta_histogram_by_team().items()):
        buckets = [
            (_le(bound), n) for bound, n in zip(TTA_BUCKETS, cumulative, strict=True)
        ]
        tta.add_metric([team], [*buckets, ("+Inf", count)], total)
    yield tta


def _le(bound: float) -> str:
    return floatToGoString(bound)  # "60.0", as the client library writes ``le``
