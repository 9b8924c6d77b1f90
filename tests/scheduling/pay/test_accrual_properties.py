"""DESIGN.md invariant 6, by Hypothesis: for random rotations, overrides and rates,
the money accrued across members equals rate x covered time per rotation and role,
exactly (Fractions, before any rounding), and no interval is paid twice.

The expected side is computed here from the *shifts* alone (coverage), day by
local day, independently of who held them: overrides move money, never make or
lose it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.effective import rotation_timeline
from scheduling.pay import accrual
from scheduling.pay.rates import Rate, RateBook
from tests.scheduling.test_effective_properties import overrides_for, rows_of
from tests.scheduling.test_plan_properties import plans

ZONES = ["UTC", "Europe/London", "Australia/Sydney"]


def _day_seconds(day: dt.date, tz: ZoneInfo) -> int:
    a = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    nxt = day + dt.timedelta(days=1)
    b = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
    return round(b - a)


def expected_total(shifts, rates, tz, days_kind) -> Fraction:
    """Σ rate × multiplier × covered seconds, second-exact, walking each shift
    through its local days (an independent walk: timestamps, not the code's)."""
    total = Fraction(0)
    for s in shifts:
        t = s.starts_at
        while t < s.ends_at:
            day = t.astimezone(tz).date()
            nxt = day + dt.timedelta(days=1)
            midnight = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
            stop = min(s.ends_at, midnight.astimezone(dt.UTC))
            rate = rates.rate(s.rotation_id, s.role, day)
            if rate is not None:
                unit = {
                    "hour": 3600,
                    "day": _day_seconds(day, tz),
                    "week": 7 * _day_seconds(day, tz),
                }[rate.unit]
                mult = Decimal(1)
                if days_kind.get(day):
                    mult = max(
                        (
                            rate.weekend_multiplier
                            if k == "weekend"
                            else rate.holiday_multiplier
                        )
                        for k in days_kind[day]
                    )
                    mult = max(mult, Decimal(1)) if mult != 1 else Decimal(1)
                secs = Fraction((stop - t) // dt.timedelta(microseconds=1), 10**6)
                total += Fraction(rate.amount) / unit * Fraction(mult) * secs
            t = stop
    return total


@st.composite
def rates_for(draw, rotation_ids, first_day: dt.date):
    out = []
    for i in range(draw(st.integers(1, 5))):
        out.append(
            Rate(
                id=i + 1,
                rotation_id=draw(st.sampled_from([None, *rotation_ids])),
                role=draw(st.sampled_from(["primary", "secondary"])),
                amount=Decimal(draw(st.integers(0, 10**6))) / 100,
                currency="USD",
                unit=draw(st.sampled_from(["hour", "day", "week"])),
                effective_from=first_day + dt.timedelta(days=draw(st.integers(-3, 20))),
                weekend_multiplier=Decimal(draw(st.sampled_from(["1", "1.5", "2"]))),
                holiday_multiplier=Decimal(draw(st.sampled_from(["1", "2", "3"]))),
            )
        )
    return out


@st.composite
def scenario(draw):
    """Two rotations of one team (their people overlap, so one person can hold
    two roles at once), overrides, rates, a calendar."""
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    first, second = draw(plans()), draw(plans())
    start = max(first.starts_at, second.starts_at) + dt.timedelta(
        hours=draw(st.integers(0, 24 * 60))
    )
    end = start + dt.timedelta(hours=draw(st.integers(1, 24 * 30)))
    shifts, overrides = [], []
    for rotation_id, p in ((1, first), (2, second)):
        shifts += rows_of(p, start, end, rotation_id=rotation_id)
        for ov in draw(overrides_for(p, start, end, rotation_id=rotation_id)):
            ov.id += 100 * rotation_id
            overrides.append(ov)
    first_day = start.astimezone(tz).date()
    rates = RateBook(draw(rates_for([1, 2], first_day)))
    weekend = frozenset(draw(st.sets(st.integers(0, 6), max_size=3)))
    holidays = draw(st.sets(st.integers(0, 31), max_size=4))
    days: dict[dt.date, list[str]] = defaultdict(list)
    for k in range((end - start).days + 3):
        day = first_day + dt.timedelta(days=k - 1)
        if day.weekday() in weekend:
            days[day].append("weekend")
        if k in holidays:
            days[day].append("holiday: made up")
    return tz, start, end, shifts, overrides, rates, dict(days)


def _clip(shifts, start, end):
    for s in shifts:
        a, b = max(s.starts_at, start), min(s.ends_at, end)
        if a < b:
            yield type(s)(s.rotation_id, s.role, s.member_id, a, b)


def _pieces(tz, start, end, shifts, overrides, rates, days):
    per_rotation = {
        r: rotation_timeline(r, shifts, overrides, start, end) for r in (1, 2)
    }
    held = accrual.holdings(per_rotation)
    return accrual.price(held, tz=tz, rates=rates, days=days)


def _overlaps(intervals) -> bool:
    intervals = sorted(intervals)
    return any(b[0] < a[1] for a, b in zip(intervals, intervals[1:], strict=False))


@settings(max_examples=80, deadline=None)
@given(scenario())
def test_accrual_equals_rate_times_covered_time_and_nothing_is_paid_twice(case):
    tz, start, end, shifts, overrides, rates, days = case
    covered = list(_clip(shifts, start, end))
    pieces = _pieces(tz, start, end, shifts, overrides, rates, days)

    paid, unpaid = accrual.two_roles(pieces, accrual.BOTH)
    assert unpaid == []
    assert sum((p.amount for p in paid), Fraction(0)) == expected_total(
        covered, rates, tz, days
    )
    # Each rotation's role is paid to one person at a time.
    by_role = defaultdict(list)
    for p in paid:
        by_role[(p.holding.rotation_id, p.holding.role)].append(
            (p.starts_at, p.ends_at)
        )
    assert not any(_overlaps(v) for v in by_role.values())


@settings(max_examples=80, deadline=None)
@given(scenario())
def test_the_highest_only_rule_pays_each_member_once_per_instant_and_loses_nothing(
    case,
):
    tz, start, end, shifts, overrides, rates, days = case
    pieces = _pieces(tz, start, end, shifts, overrides, rates, days)

    paid, unpaid = accrual.two_roles(pieces, accrual.HIGHEST)

    by_member = defaultdict(list)
    for p in paid:
        by_member[p.holding.member_id].append((p.starts_at, p.ends_at))
    assert not any(_overlaps(v) for v in by_member.values())
    # What is not paid is exactly the overlap given up: paid + unpaid = all.
    total = sum((p.amount for p in pieces), Fraction(0))
    assert sum((p.amount for p in paid + unpaid), Fraction(0)) == total
    for p in unpaid:
        assert any(
            q.holding.member_id == p.holding.member_id
            and q.starts_at <= p.starts_at
            and p.ends_at <= q.ends_at
            for q in paid
        ), "a piece goes unpaid only while its holder is paid for another role"
