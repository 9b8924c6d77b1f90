"""The error-budget arithmetic, pure: no database, no clock.

An objective of 99.9 % over 30 days allows 0.1 % of the window as bad time:
30 × 24 × 60 × 0.001 = 43.2 minutes.  The budget left is the share of that not
spent yet (negative once overspent); the policy turns it into a decision.
Objectives are ``Decimal`` percentages so 99.9 stays exactly 99.9.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ALLOW = "allow"
LIMITED = "limited"
FREEZE = "freeze"
DECISIONS = (ALLOW, LIMITED, FREEZE)

ROLLING_DAYS = {"rolling_28d": 28, "rolling_30d": 30}
CALENDAR_MONTH = "calendar_month"


def error_rate_allowed(objective_percent: Decimal) -> Decimal:
    """The bad share the objective allows: 99.9 → 0.001."""
    return (Decimal(100) - Decimal(objective_percent)) / Decimal(100)


def budget_seconds(objective_percent: Decimal, window: dt.timedelta) -> float:
    """Bad time the objective allows over ``window``: 99.9 % of 30 d → 2592 s."""
    seconds = Decimal(int(window.total_seconds()))
    return float(error_rate_allowed(objective_percent) * seconds)


def budget_remaining(*, budget: float, spent: float) -> float:
    """The fraction of the budget not spent yet; 1.0 untouched, negative overspent."""
    if budget <= 0:
        return 1.0 if spent <= 0 else -1.0
    return 1.0 - spent / budget


@dataclass(frozen=True)
class Policy:
    """Above ``allow_above`` left: allow; from ``freeze_below`` to ``allow_above``
    (both included): limited; under ``freeze_below``: freeze."""

    allow_above: float = 0.5
    freeze_below: float = 0.25
    limited_deploys_per_day: int = 1

    def decide(self, remaining: float) -> str:
        if remaining > self.allow_above:
            return ALLOW
        if remaining >= self.freeze_below:
            return LIMITED
        return FREEZE


@dataclass(frozen=True)
class Window:
    """Where the SLO's window stands at ``now``: ``start``..``now`` is what was
    measured so far, ``length`` what the budget is reckoned on (a whole calendar
    month for a monthly SLO, so its budget does not grow through the month)."""

    start: dt.datetime
    end: dt.datetime
    length: dt.timedelta


def window_at(kind: str, now: dt.datetime, time_zone: str) -> Window:
    """The window of kind ``kind`` ending at ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    if kind in ROLLING_DAYS:
        length = dt.timedelta(days=ROLLING_DAYS[kind])
        return Window(start=now - length, end=now, length=length)
    if kind != CALENDAR_MONTH:
        raise ValueError(f"unknown window {kind!r}")
    tz = zoneinfo.ZoneInfo(time_zone)
    local = now.astimezone(tz)
    first = dt.datetime(local.year, local.month, 1, tzinfo=tz)
    following = (
        dt.datetime(local.year + 1, 1, 1, tzinfo=tz)
        if local.month == 12
        else dt.datetime(local.year, local.month + 1, 1, tzinfo=tz)
    )
    start = first.astimezone(dt.UTC)
    # Wall-clock subtraction would ignore a DST change inside the month.
    length = following.astimezone(dt.UTC) - start
    return Window(start=start, end=now, length=length)


Interval = tuple[dt.datetime, dt.datetime]


def covered_seconds(
    intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime
) -> float:
    """Seconds of ``start``..``end`` covered by at least one interval: overlapping
    incidents count once."""
    clipped = sorted(
        (max(a, start), min(b, end)) for a, b in intervals if b > start and a < end
    )
    total = dt.timedelta()
    current: Interval | None = None
    for a, b in clipped:
        if current is None or a > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (a, b)
        elif b > current[1]:
            current = (current[0], b)
    if current is not None:
        total += current[1] - current[0]
    return total.total_seconds()


def burn_rate(*, bad_share: float, objective_percent: Decimal) -> float:
    """How fast the budget burns: 1.0 spends exactly the budget over the window;
    14.4 spends a 30-day budget in two days."""
    allowed = float(error_rate_allowed(objective_percent))
    if allowed <= 0:
        return 0.0
    return bad_share / allowed
