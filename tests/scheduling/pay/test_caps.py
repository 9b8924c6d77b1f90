"""Caps: at most N paid hours per member and calendar month or quarter; time past
the cap is held but not paid, counted from the start of the cap period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.models import PayPolicy
from scheduling.pay import accrual
from scheduling.pay.rates import Rate
from scheduling.pay.statements import month_bounds, team_pay
from tests import cast

NAIROBI = ZoneInfo("Africa/Nairobi")


def pair(team, people, set_rate, **policy):
    """alice and bob alone on the paired weekly rotation: each holds a role
    every hour, primary and secondary week about."""
    cast.rotation_create(team, people[:2], now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "500")
    set_rate(team, "secondary", "250")
    PayPolicy.objects.create(team=team, **policy)


def totals(report) -> dict[str, Decimal]:
    return {report.username(m): a for m, _, a in report.totals()}


def test_a_monthly_cap_pays_the_first_hours_only(team, people, set_rate):
    pair(team, people, set_rate, cap_hours=Decimal(168), cap_period="month")

    report = team_pay(
        team=team, start=cast.utc(2025, 12, 31, 21), end=cast.utc(2026, 1, 31, 21)
    )

    # 168 hours each: alice's first primary week, bob's first secondary week.
    assert totals(report) == {"alice": Decimal("500.00"), "bob": Decimal("250.00")}
    held = dt.datetime(2026, 2, 1, tzinfo=NAIROBI) - dt.datetime(
        2026, 1, 5, 9, tzinfo=NAIROBI
    )
    unpaid = {}
    for p in report.unpaid:
        name = report.username(p.holding.member_id)
        unpaid[name] = unpaid.get(name, 0) + p.seconds
    assert unpaid == {
        "alice": held.total_seconds() - 168 * 3600,
        "bob": held.total_seconds() - 168 * 3600,
    }


def test_a_quarterly_cap_counts_the_months_before(team, people, set_rate):
    pair(team, people, set_rate, cap_hours=Decimal(672), cap_period="quarter")
    start, end = month_bounds(team, 2026, 2)

    february = team_pay(team=team, start=start, end=end)

    # January used 639 of alice's 672 hours (5 Jan 09:00 to 1 Feb 00:00); the
    # 33 left are 1 Feb 00:00 to 2 Feb 09:00, as secondary: 250/7 * 33/24.
    assert totals(february)["alice"] == Decimal("49.11")
    assert totals(february)["bob"] == Decimal("98.21")  # 500/7 * 33/24


def test_without_a_cap_february_pays_in_full(team, people, set_rate):
    pair(team, people, set_rate)
    start, end = month_bounds(team, 2026, 2)

    # 28 days: 4 whole weeks each, two as primary and two as secondary.
    assert totals(team_pay(team=team, start=start, end=end)) == {
        "alice": Decimal("1500.00"),
        "bob": Decimal("1500.00"),
    }


RATE = Rate(1, None, "primary", Decimal(7), "USD", "hour", dt.date(2026, 1, 1))
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@st.composite
def pieces(draw):
    out = []
    for _ in range(draw(st.integers(0, 30))):
        a = BASE + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 120)))
        b = a + dt.timedelta(minutes=draw(st.integers(1, 60 * 23)))
        member = draw(st.sampled_from([1, 2, 3]))
        holding = accrual.Holding(member, 1, "primary", a, b, None, None, member)
        out.append(
            accrual.Piece(
                holding, a, b, a.date(), RATE, Decimal(1), "", Fraction(7, 3600)
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(pieces(), st.integers(0, 200), st.sampled_from(["month", "quarter"]))
def test_the_cap_is_never_passed_and_nothing_else_is_lost(given_pieces, hours, period):
    limit = hours * 3600 * 1_000_000

    paid, unpaid = accrual.cap(given_pieces, limit_micros=limit, period=period)

    used: dict = {}
    for p in paid:
        key = (p.holding.member_id, accrual.period_start(p.day, period))
        used[key] = used.get(key, 0) + p.micros
    assert all(v <= limit for v in used.values())
    assert sum(p.micros for p in paid + unpaid) == sum(p.micros for p in given_pieces)
    # Unpaid time only where the member's period is full.
    for p in unpaid:
        assert (
            used.get((p.holding.member_id, accrual.period_start(p.day, period)), 0)
            == limit
        )
