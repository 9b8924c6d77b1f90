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

from scheduling.effective import rotation_timeline, team_timeline
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
    """Each rotation's own timeline (the ``both`` rule)."""
    segments = [
        seg
        for r in (1, 2)
        for seg in rotation_timeline(r, shifts, overrides, start, end)
    ]
    held = accrual.holdings(segments)
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

    paid = pieces
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


# One hourly rate for every role of the team, from long before any scenario:
# amounts are then 1 per second held, so paid time can be checked directly.
FLAT = RateBook(
    Rate(i, None, role, Decimal(3600), "USD", "hour", dt.date(2000, 1, 1))
    for i, role in enumerate(("primary", "secondary"), start=1)
)


def _union_seconds(intervals) -> Fraction:
    total, reach = Fraction(0), None
    for a, b in sorted(intervals):
        if reach is not None:
            a = max(a, reach)
        if a < b:
            total += Fraction((b - a) // dt.timedelta(microseconds=1), 10**6)
        reach = b if reach is None else max(reach, b)
    return total


@settings(max_examples=80, deadline=None)
@given(scenario())
def test_the_layered_schedule_pays_one_primary_whenever_any_layer_has_one_and_no_one_twice(  # noqa: E501
    case,
):
    """The ``highest`` rule pays the team's layered timeline: the primary role is
    paid exactly over the union of all layers' primary shifts (once, whoever
    held it), and nobody is paid for two things at one instant."""
    tz, start, end, shifts, overrides, _, days = case
    segments = team_timeline([2, 1], shifts, overrides, start, end)
    pieces = accrual.price(accrual.holdings(segments), tz=tz, rates=FLAT, days={})

    primary = [
        (max(s.starts_at, start), min(s.ends_at, end))
        for s in shifts
        if s.role == "primary" and s.ends_at > start and s.starts_at < end
    ]
    paid_primary = sum(
        (p.amount for p in pieces if p.holding.role == "primary"), Fraction(0)
    )
    assert paid_primary == _union_seconds(primary)
    by_member, by_role = defaultdict(list), defaultdict(list)
    for p in pieces:
        by_member[p.holding.member_id].append((p.starts_at, p.ends_at))
        by_role[p.holding.role].append((p.starts_at, p.ends_at))
    assert not any(_overlaps(v) for v in by_member.values())
    assert not any(_overlaps(v) for v in by_role.values())
