"""The Prometheus gauge of stipends accrued in the current open month."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from scheduling.metrics import SchedulingCollector

NAIROBI = ZoneInfo("Africa/Nairobi")


def samples(collector) -> dict[tuple[str, str], float]:
    (family,) = list(collector.collect())
    return {
        (s.labels["team"], s.labels["currency"]): s.value for s in family.samples
    }


def test_the_gauge_is_what_the_month_has_accrued_so_far(team, reference):
    # From 1 January (Nairobi) to Monday 12 January 09:00: alice's primary week
    # (500) and bob's secondary week (250).
    at = dt.datetime(2026, 1, 12, 9, tzinfo=NAIROBI)

    assert samples(SchedulingCollector(now=lambda: at)) == {("payments", "USD"): 750.0}


def test_a_new_month_starts_from_zero(team, reference):
    # 1 February 00:00 Nairobi plus one day, all of it week 4 (bob primary,
    # alice secondary until Monday 2 February 09:00): 500/7 + 250/7.
    at = dt.datetime(2026, 2, 2, 0, tzinfo=NAIROBI)

    got = samples(SchedulingCollector(now=lambda: at))

    assert got == {("payments", "USD"): round(750 / 7, 2)}


def test_metrics_endpoint_serves_the_gauge(client, team, reference):
    body = client.get("/metrics").content.decode()

    assert 'oncall_stipends_accrued{currency="USD",team="payments"}' in body
