"""Which rate pays a role of a rotation on a local date.

A rotation's own rates win over its team's; of a role's rates, the latest
``effective_from`` on or before the date applies, so a new rate never changes the
days before it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from scheduling.pay.money import exact

HOUR, DAY, WEEK = "hour", "day", "week"


@dataclass(frozen=True)
class Rate:
    id: int
    rotation_id: int | None  # None: the team's rate
    role: str
    amount: Decimal
    currency: str
    unit: str
    effective_from: dt.date
    weekend_multiplier: Decimal = Decimal(1)
    holiday_multiplier: Decimal = Decimal(1)
    minimum_per_shift: Decimal | None = None

    def per_second(self, day_seconds: int) -> Fraction:
        """The exact pay for one second of a local day ``day_seconds`` long (day
        and week rates pay per local day, so a 23-hour day pays a whole day)."""
        amount = exact(self.amount)
        if self.unit == HOUR:
            return amount / 3600
        if self.unit == DAY:
            return amount / day_seconds
        if self.unit == WEEK:
            return amount / 7 / day_seconds
        raise ValueError(f"unknown rate unit {self.unit!r}")

    def label(self) -> str:
        return f"{self.amount.normalize():f} {self.currency}/{self.unit}"


class RateBook:
    """All of a team's rates, looked up by (rotation, role, local date)."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self._by_key: dict[tuple[int | None, str], list[Rate]] = {}
        for rate in sorted(rates, key=lambda r: (r.effective_from, r.id)):
            self._by_key.setdefault((rate.rotation_id, rate.role), []).append(rate)
        self._dates = {
            key: [r.effective_from for r in rates_]
            for key, rates_ in self._by_key.items()
        }
        self._team_cache: dict[tuple[str, dt.date], Rate | None] = {}
        self.has_minimum = any(
            r.minimum_per_shift is not None
            for rates_ in self._by_key.values()
            for r in rates_
        )

    def _latest(self, key: tuple[int | None, str], day: dt.date) -> Rate | None:
        dates = self._dates.get(key)
        if not dates:
            return None
        i = bisect.bisect_right(dates, day)
        return self._by_key[key][i - 1] if i else None

    def has_own(self, rotation_id: int, role: str) -> bool:
        """Whether the rotation has rates of its own for ``role`` (else it is
        paid the team's, like every other such rotation)."""
        return (rotation_id, role) in self._dates

    def rate(self, rotation_id: int, role: str, day: dt.date) -> Rate | None:
        if (rotation_id, role) in self._dates:
            own = self._latest((rotation_id, role), day)
            if own is not None:
                return own
        # The team's rate: the same answer for every rotation without its own.
        key = (role, day)
        if key not in self._team_cache:
            self._team_cache[key] = self._latest((None, role), day)
        return self._team_cache[key]


def rate_book_for(team_id: int) -> RateBook:
    from scheduling.models import StipendRate

    return RateBook(
        Rate(
            id=r.pk,
            rotation_id=r.rotation_id,
            role=r.role,
            amount=r.amount,
            currency=r.currency,
            unit=r.unit,
            effective_from=r.effective_from,
            weekend_multiplier=r.weekend_multiplier,
            holiday_multiplier=r.holiday_multiplier,
            minimum_per_shift=r.minimum_per_shift,
        )
        for r in StipendRate.objects.filter(team_id=team_id)
    )
