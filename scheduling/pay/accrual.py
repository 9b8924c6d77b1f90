"""Accrual: who earned what, second by second, from the effective schedule.

Pure functions on the output of the one resolver (:mod:`scheduling.effective`,
through :func:`scheduling.selectors.team_schedule`): nothing here computes a
schedule of its own.  Which timeline is paid is the team's two-roles rule
(:func:`scheduling.pay.statements.team_pay`): the team's layered answer
(``highest``) or each rotation's own (``both``).  Whoever holds a role in it
(overrides and swaps applied) earns the holder's rotation's rate for the role,
inactive members included.

Steps: :func:`holdings` (who held which role of which rotation, when) ->
:func:`price` (split at the team's local midnights; the rate and the multiplier of
each local day) -> :func:`cap` -> :func:`minimums`.  Amounts stay exact
:class:`~fractions.Fraction` values.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from scheduling.pay.calendar import WEEKEND
from scheduling.pay.money import exact
from scheduling.pay.rates import Rate, RateBook

_MICRO = dt.timedelta(microseconds=1)


def seconds(start: dt.datetime, end: dt.datetime) -> Fraction:
    """Exact seconds in [start, end) (to the microsecond the database keeps)."""
    return Fraction((end - start) // _MICRO, 1_000_000)


# Slotted, not frozen: a month of 1,000 rotations makes tens of thousands of
# these, and a frozen dataclass pays ``object.__setattr__`` per field.
@dataclass(slots=True)
class Holding:
    """A member held ``role`` of ``rotation_id`` over [starts_at, ends_at)."""

    member_id: int
    rotation_id: int
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    shift_id: int | None
    override_id: int | None
    # Whom the rotation had in the role (differs from member_id under an override).
    scheduled_member_id: int
    # The shift or override row the holding comes from (for the minimum per
    # shift): its key and bounds.  Defaults: the holding itself.
    unit: tuple = ()
    unit_starts_at: dt.datetime | None = None
    unit_ends_at: dt.datetime | None = None


@dataclass(slots=True)
class Piece:
    """A holding over a run of local days of one calendar month that share a
    rate, a multiplier and a day length (so one pay per second), priced.  ``day``
    is the run's first day (the cap reads its month)."""

    holding: Holding
    starts_at: dt.datetime
    ends_at: dt.datetime
    day: dt.date
    rate: Rate
    multiplier: Decimal
    reason: str  # why the multiplier ("weekend", "holiday: ..."), "" for none
    per_second: Fraction  # rate x multiplier, exact

    @property
    def micros(self) -> int:
        return (self.ends_at - self.starts_at) // _MICRO

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.micros, 1_000_000)

    @property
    def amount(self) -> Fraction:
        return self.per_second * self.seconds


def holdings(segments: Iterable[Any]) -> list[Holding]:
    """Every role holder of effective-schedule segments
    (:class:`scheduling.effective.Segment`): the team's layered answer
    (:attr:`scheduling.selectors.TeamSchedule.effective`) or the rotations' own
    timelines chained (``per_rotation``).  The rotation paid is the holder's."""
    out: list[Holding] = []
    for seg in segments:
        for role, holder in zip(
            ("primary", "secondary"), seg.resolution.roles(), strict=True
        ):
            if holder is None:
                continue
            ov = holder.override
            row = holder.shift if ov is None else ov
            rotation_id = holder.rotation_id
            out.append(
                Holding(
                    member_id=holder.member_id,
                    rotation_id=rotation_id,
                    role=role,
                    starts_at=seg.starts_at,
                    ends_at=seg.ends_at,
                    # ``id``: None for a planned (unstored) shift.
                    shift_id=getattr(holder.shift, "id", None),
                    override_id=None if ov is None else ov.id,
                    scheduled_member_id=holder.shift.member_id,
                    unit=(
                        "shift" if ov is None else "override",
                        rotation_id,
                        role,
                        holder.member_id,
                        row.starts_at,
                        getattr(row, "id", None),
                    ),
                    unit_starts_at=row.starts_at,
                    unit_ends_at=row.ends_at,
                )
            )
    return out


def local_days(
    start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> Iterable[tuple[dt.date, dt.datetime, dt.datetime]]:
    """The local days [midnight, next midnight) of ``tz`` that [start, end)
    touches, in UTC."""
    day = start.astimezone(tz).date()
    while True:
        a = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        nxt = day + dt.timedelta(days=1)
        b = dt.datetime.combine(nxt, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        if a >= end:
            return
        yield day, a, b
        day = nxt


class _DayBounds:
    """:func:`local_days` with each day's bounds worked out once."""

    def __init__(self, tz: zoneinfo.ZoneInfo) -> None:
        self.tz = tz
        self._bounds: dict[dt.date, tuple[dt.datetime, dt.datetime]] = {}

    def _of(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        if day not in self._bounds:
            nxt = day + dt.timedelta(days=1)
            self._bounds[day] = (
                dt.datetime.combine(day, dt.time(0), tzinfo=self.tz).astimezone(dt.UTC),
                dt.datetime.combine(nxt, dt.time(0), tzinfo=self.tz).astimezone(dt.UTC),
            )
        return self._bounds[day]

    def touching(
        self, start: dt.datetime, end: dt.datetime
    ) -> Iterable[tuple[dt.date, dt.datetime, dt.datetime]]:
        day = start.astimezone(self.tz).date()
        while True:
            a, b = self._of(day)
            if a >= end:
                return
            yield day, a, b
            day += dt.timedelta(days=1)


def _multiplier(rate: Rate, kinds: Sequence[str]) -> tuple[Decimal, str]:
    """The highest multiplier of the kinds that apply (never their product)."""
    best, why = Decimal(1), ""
    for kind in kinds:
        m = rate.weekend_multiplier if kind == WEEKEND else rate.holiday_multiplier
        if m != 1 and (why == "" or m > best):
            best, why = m, kind
    return best, why


def price(
    held: Sequence[Holding],
    *,
    tz: zoneinfo.ZoneInfo,
    rates: RateBook,
    days: Mapping[dt.date, Sequence[str]],
) -> list[Piece]:
    """Holdings split at local midnights and priced; what no rate covers is left
    out (an unpaid role).  Consecutive days of one month that price the same
    (rate, multiplier and pay per second) stay one piece: the amount is the
    same, and a week-long shift makes three pieces instead of eight."""
    if not held:
        return []
    # Every local day the holdings touch, once: (day, start, end) in UTC, and
    # their starts for bisecting.
    first = min(h.starts_at for h in held)
    last = max(h.ends_at for h in held)
    span = list(_DayBounds(tz).touching(first, last))
    starts = [a for _, a, _ in span]
    # The terms of a day: (rate, multiplier, reason, pay per second), one tuple
    # per distinct value (runs compare them by identity); None where no rate
    # pays.  Looked up per (rotation, role) and day index.
    terms_of: dict[tuple, tuple] = {}
    by_role: dict[tuple[int | None, str], list] = {}
    out: list[Piece] = []
    for h in held:
        # Rotations paid the team's rates share one row: their terms are equal.
        key = (h.rotation_id if rates.has_own(h.rotation_id, h.role) else None, h.role)
        row = by_role.get(key)
        if row is None:
            row = by_role[key] = [False] * len(span)
        i = bisect.bisect_right(starts, h.starts_at) - 1
        run_terms: tuple | None = None
        run_start = h.starts_at
        run_day = span[i][0]
        while i < len(span):
            day, a, b = span[i]
            if a >= h.ends_at:
                break
            terms = row[i]
            if terms is False:
                terms = row[i] = _terms(h, day, b - a, rates, days, terms_of)
            if terms is not run_terms or day.month != run_day.month:
                if run_terms is not None:
                    out.append(Piece(h, run_start, a, run_day, *run_terms))
                run_terms, run_start, run_day = terms, max(a, h.starts_at), day
            i += 1
        if run_terms is not None:
            out.append(Piece(h, run_start, h.ends_at, run_day, *run_terms))
    return out


def _terms(
    h: Holding,
    day: dt.date,
    length: dt.timedelta,
    rates: RateBook,
    days: Mapping[dt.date, Sequence[str]],
    known: dict[tuple, tuple],
) -> tuple | None:
    """(rate, multiplier, reason, pay per second) of ``h``'s role on ``day``, the
    one tuple of ``known`` for that value; None if no rate pays."""
    rate = rates.rate(h.rotation_id, h.role, day)
    if rate is None:
        return None
    multiplier, reason = _multiplier(rate, days.get(day, ()))
    day_seconds = int(length.total_seconds())
    key = (rate.id, day_seconds, multiplier, reason)
    if key not in known:
        per_second = rate.per_second(day_seconds) * exact(multiplier)
        known[key] = (rate, multiplier, reason, per_second)
    return known[key]


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the calendar month or quarter holding ``day``."""
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown cap period {period!r}")


def cap(
    pieces: Iterable[Piece], *, limit_micros: int | None, period: str
) -> tuple[list[Piece], list[Piece]]:
    """At most ``limit_micros`` of paid time per member and cap period (local
    calendar month or quarter of each piece's day), first come first paid; the
    piece that reaches the cap is cut there.  Time paid twice under the
    two-roles rule ``both`` counts twice.  Returns (paid, not paid)."""
    pieces = list(pieces)
    if limit_micros is None:
        return pieces, []
    used: dict[tuple[int, dt.date], int] = {}
    paid: list[Piece] = []
    unpaid: list[Piece] = []
    order = sorted(
        pieces,
        key=lambda p: (p.starts_at, p.ends_at, p.holding.rotation_id, p.holding.role),
    )
    for p in order:
        key = (p.holding.member_id, period_start(p.day, period))
        room = limit_micros - used.get(key, 0)
        if room <= 0:
            unpaid.append(p)
        elif p.micros <= room:
            paid.append(p)
            used[key] = used.get(key, 0) + p.micros
        else:
            cut = p.starts_at + room * _MICRO
            paid.append(replace(p, ends_at=cut))
            unpaid.append(replace(p, starts_at=cut))
            used[key] = limit_micros
    return paid, unpaid


def clip(pieces: Iterable[Piece], start: dt.datetime) -> list[Piece]:
    """The parts of ``pieces`` from ``start`` on."""
    out = []
    for p in pieces:
        if p.ends_at <= start:
            continue
        out.append(p if p.starts_at >= start else replace(p, starts_at=start))
    return out


@dataclass(frozen=True)
class TopUp:
    """What a shift or override lacked to reach its rate's minimum per shift."""

    holding: Holding  # the unit's first paid piece's holding
    rate: Rate
    amount: Fraction


def unit_end(h: Holding) -> dt.datetime:
    return h.unit_ends_at or h.ends_at


def minimums(
    paid: Iterable[Piece], *, start: dt.datetime, end: dt.datetime
) -> list[TopUp]:
    """Top-ups for the shifts and overrides that end in (start, end] and paid
    less than the minimum of the rate in force where they began.  ``paid`` must
    hold each such unit's pieces from its start (after the two-roles rule and the
    cap: a unit with nothing paid gets no minimum)."""
    units: dict[tuple, list[Piece]] = {}
    for p in paid:
        if start < unit_end(p.holding) <= end:
            units.setdefault(p.holding.unit or (id(p.holding),), []).append(p)
    out = []
    for pieces in units.values():
        first = min(pieces, key=lambda p: p.starts_at)
        floor = first.rate.minimum_per_shift
        if floor is None:
            continue
        got = sum(
            (p.amount for p in pieces if p.rate.currency == first.rate.currency),
            Fraction(0),
        )
        if got < exact(floor):
            out.append(TopUp(first.holding, first.rate, exact(floor) - got))
    return out
