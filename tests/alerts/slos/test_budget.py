"""The error-budget arithmetic (alerts/slos/budget.py), without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alerts.slos.budget import (
    ALLOW,
    FREEZE,
    LIMITED,
    Policy,
    budget_remaining,
    budget_seconds,
    burn_rate,
    covered_seconds,
    window_at,
)
from tests.cast import utc

THIRTY_DAYS = dt.timedelta(days=30)


def test_three_nines_over_30_days_is_43_point_2_minutes():
    assert budget_seconds(Decimal("99.9"), THIRTY_DAYS) == pytest.approx(43.2 * 60)


def test_four_nines_over_30_days_is_4_point_32_minutes():
    assert budget_seconds(Decimal("99.99"), THIRTY_DAYS) == pytest.approx(4.32 * 60)


def test_remaining_is_the_unspent_share_and_goes_negative():
    budget = 43.2 * 60
    assert budget_remaining(budget=budget, spent=0) == 1.0
    assert budget_remaining(budget=budget, spent=21.6 * 60) == pytest.approx(0.5)
    assert budget_remaining(budget=budget, spent=2 * budget) == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("remaining", "decision"),
    [
        (1.0, ALLOW),
        (0.5000001, ALLOW),
        (0.5, LIMITED),  # "more than 50 %" allows: exactly half is limited
        (0.37, LIMITED),
        (0.25, LIMITED),  # 25-50 % both included
        (0.2499999, FREEZE),
        (-0.3, FREEZE),
    ],
)
def test_the_default_policy_at_its_boundaries(remaining, decision):
    assert Policy().decide(remaining) == decision


def test_boundaries_hit_exactly_by_spent_minutes():
    # 21.6 of 43.2 minutes spent is exactly half: limited, not allow.
    budget = budget_seconds(Decimal("99.9"), THIRTY_DAYS)
    half = budget_remaining(budget=budget, spent=21.6 * 60)
    quarter = budget_remaining(budget=budget, spent=32.4 * 60)
    assert Policy().decide(half) == LIMITED
    assert Policy().decide(quarter) == LIMITED
    assert Policy().decide(budget_remaining(budget=budget, spent=32.4 * 60 + 1)) == (
        FREEZE
    )


def test_overlapping_intervals_count_once_and_are_clipped_to_the_window():
    start, end = utc(2026, 3, 1), utc(2026, 3, 2)
    intervals = [
        (utc(2026, 3, 1, 10), utc(2026, 3, 1, 11)),
        (utc(2026, 3, 1, 10, 30), utc(2026, 3, 1, 11, 30)),  # overlaps the first
        (utc(2026, 3, 1, 11), utc(2026, 3, 1, 11, 15)),  # inside both
        (utc(2026, 2, 28, 23), utc(2026, 3, 1, 0, 10)),  # starts before the window
        (utc(2026, 3, 1, 23, 55), utc(2026, 3, 2, 1)),  # ends after it
        (utc(2026, 2, 1), utc(2026, 2, 2)),  # outside
    ]
    assert covered_seconds(intervals, start, end) == (90 + 10 + 5) * 60


def test_burn_rate_one_spends_the_budget_over_the_window():
    assert burn_rate(bad_share=0.001, objective_percent=Decimal("99.9")) == (
        pytest.approx(1.0)
    )
    assert burn_rate(bad_share=0.0144, objective_percent=Decimal("99.9")) == (
        pytest.approx(14.4)
    )


def test_rolling_windows_end_now():
    now = utc(2026, 3, 15, 12)
    window = window_at("rolling_28d", now, "Africa/Nairobi")
    assert (window.start, window.end, window.length) == (
        now - dt.timedelta(days=28),
        now,
        dt.timedelta(days=28),
    )


def test_a_calendar_month_starts_at_local_midnight_and_budgets_the_whole_month():
    now = utc(2026, 3, 15, 12)
    window = window_at("calendar_month", now, "Africa/Nairobi")  # UTC+3
    assert window.start == utc(2026, 2, 28, 21)
    assert window.length == dt.timedelta(days=31)


def test_a_calendar_month_with_a_dst_change_is_an_hour_short():
    window = window_at("calendar_month", utc(2026, 3, 15), "Europe/Berlin")
    assert window.length == dt.timedelta(days=31, hours=-1)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        window_at("rolling_30d", dt.datetime(2026, 3, 1), "UTC")  # noqa: DTZ001
