"""Scrape-time gauges of scheduling: stipends accrued so far this month.

Registered by ``oncall/apps.py`` (the apps never import the project).  Read from
the database at scrape time through the pay service, so every web process
reports the same figure.  One schedule computation per team with rates, per
scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scheduling.models import Team
from scheduling.pay.statements import accrued_this_month


class SchedulingCollector(Collector):
    def __init__(self, now: Callable[[], dt.datetime] = timezone.now) -> None:
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        accrued = GaugeMetricFamily(
            "oncall_stipends_accrued",
            "Stipends accrued in the current (open) calendar month of each team's "
            "zone, up to now, by team and currency (sum of the statement lines).",
            labels=["team", "currency"],
        )
        now = self._now()
        for team in Team.objects.filter(stipend_rates__isnull=False).distinct():
            for currency, amount in accrued_this_month(team=team, now=now).items():
                accrued.add_metric([team.slug, currency], float(amount))
        yield accrued
