"""Statements: a member's pay for a period, in lines rounded once each.

A line gathers a member's pieces (see :mod:`scheduling.pay.accrual`) of one
rotation, role, rate, multiplier and kind (``shift``: held as scheduled;
``override``: held by covering someone; ``minimum``: top-ups to the minimum per
shift).  Its amount is the exact sum of its
pieces rounded half-up to the currency's minor unit, once; the difference is kept
on the line (``rounding``).  Every line keeps the shifts and overrides behind it
(the "why").
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from scheduling.models import Member, PayPolicy, Team
from scheduling.pay import accrual
from scheduling.pay.calendar import calendar_for
from scheduling.pay.money import minor_digits, round_amount, shown_ratio
from scheduling.pay.rates import Rate, RateBook, rate_book_for
from scheduling.selectors import TeamSchedule, team_schedule

SHIFT = "shift"
_MICRO = dt.timedelta(microseconds=1)
OVERRIDE = "override"
MINIMUM = "minimum"


@dataclass
class Line:
    """Filled by :func:`lines_of`; the amounts are read once it is done."""

    member_id: int
    rotation_id: int
    role: str
    kind: str
    rate: Rate
    multiplier: Decimal
    reason: str
    # Microseconds held, per pay per second (which differs on a DST day for day
    # and week rates) as (numerator, denominator): integers while summing, one
    # Fraction at the end -- exact, and far cheaper than adding Fractions piece
    # by piece (a Fraction's hash alone costs a modular inverse).
    micros: dict[tuple[int, int], int] = field(default_factory=dict)
    topup: Fraction = Fraction(0)  # minimum-per-shift lines
    shift_ids: set[int] = field(default_factory=set)
    override_ids: set[int] = field(default_factory=set)

    @property
    def currency(self) -> str:
        return self.rate.currency

    @cached_property
    def seconds(self) -> Fraction:
        return Fraction(sum(self.micros.values()), 1_000_000)

    @cached_property
    def exact(self) -> Fraction:
        """The line's exact amount, before its one rounding: one Fraction made
        from integers (numerators over the common denominator)."""
        num, den = 0, 1
        for (n, d), micros in self.micros.items():
            if d == den:
                num += n * micros
            else:
                num, den = num * d + n * micros * den, den * d
        total = Fraction(num, den * 1_000_000)
        return total + self.topup if self.topup else total

    @cached_property
    def amount(self) -> Decimal:
        return round_amount(self.exact, self.currency)

    @property
    def rounding(self) -> Decimal:
        """What rounding added (negative: took away), shown to 6 places."""
        # amount - exact in integers: (A / 10**k) - (n / d).
        exact, k = self.exact, minor_digits(self.currency)
        a = int(self.amount.scaleb(k))
        return shown_ratio(
            a * exact.denominator - exact.numerator * 10**k, exact.denominator * 10**k
        )

    @property
    def hours(self) -> Decimal:
        return shown_ratio(sum(self.micros.values()), 3_600_000_000)

    def key(self) -> tuple:
        return (
            self.member_id,
            self.rotation_id,
            self.role,
            self.kind,
            self.rate.id,
            self.multiplier,
            self.reason,
        )


@dataclass(frozen=True)
class GivenAway:
    """An override under which someone else held what the member was scheduled
    for (no money: shown so the statement explains a smaller line)."""

    member_id: int
    rotation_id: int
    role: str
    override_id: int | None
    covered_by: int
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass
class Report:
    """The pay of a team over [start, end): lines, and what explains them."""

    team: Team
    start: dt.datetime
    end: dt.datetime
    lines: list[Line]
    given_away: list[GivenAway]
    unpaid: list[accrual.Piece]  # held, but not paid: past the cap
    members: dict[int, Member]
    rotation_names: dict[int, str]

    def totals(self) -> list[tuple[int, str, Decimal]]:
        """(member id, currency, amount): sums of rounded lines, by member and
        currency, in member name order."""
        sums: dict[tuple[int, str], Decimal] = {}
        for line in self.lines:
            key = (line.member_id, line.currency)
            sums[key] = sums.get(key, Decimal(0)) + line.amount
        return sorted(
            ((m, c, a) for (m, c), a in sums.items()),
            key=lambda t: (self.username(t[0]), t[1]),
        )

    def username(self, member_id: int) -> str:
        member = self.members.get(member_id)
        return member.username if member else f"member {member_id}"

    def for_member(self, member_id: int) -> list[Line]:
        return [line for line in self.lines if line.member_id == member_id]


def lines_of(
    pieces: Iterable[accrual.Piece], topups: Iterable[accrual.TopUp] = ()
) -> list[Line]:
    """Pieces (and minimum-per-shift top-ups) gathered into lines, in a stable
    order."""
    lines: dict[tuple, Line] = {}
    for p in pieces:
        h = p.holding
        kind = SHIFT if h.override_id is None else OVERRIDE
        # Line.key(), without making a Line per piece.
        key = (
            h.member_id,
            h.rotation_id,
            h.role,
            kind,
            p.rate.id,
            p.multiplier,
            p.reason,
        )
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(
                member_id=h.member_id,
                rotation_id=h.rotation_id,
                role=h.role,
                kind=kind,
                rate=p.rate,
                multiplier=p.multiplier,
                reason=p.reason,
            )
        ps = (p.per_second.numerator, p.per_second.denominator)
        line.micros[ps] = line.micros.get(ps, 0) + (p.ends_at - p.starts_at) // _MICRO
        if h.shift_id is not None:
            line.shift_ids.add(h.shift_id)
        if h.override_id is not None:
            line.override_ids.add(h.override_id)
    for t in topups:
        h = t.holding
        line = Line(
            member_id=h.member_id,
            rotation_id=h.rotation_id,
            role=h.role,
            kind=MINIMUM,
            rate=t.rate,
            multiplier=Decimal(1),
            reason="minimum per shift",
        )
        line = lines.setdefault(line.key(), line)
        line.topup += t.amount
        _trace(line, h)
    return sorted(
        lines.values(),
        key=lambda ln: (
            ln.member_id,
            ln.currency,
            ln.rotation_id,
            ln.role != "primary",
            ln.kind,
            ln.rate.effective_from,
            ln.multiplier,
            ln.reason,
        ),
    )


def _trace(line: Line, h: accrual.Holding) -> None:
    if h.shift_id is not None:
        line.shift_ids.add(h.shift_id)
    if h.override_id is not None:
        line.override_ids.add(h.override_id)


def _given_away(held: Sequence[accrual.Holding]) -> list[GivenAway]:
    return [
        GivenAway(
            member_id=h.scheduled_member_id,
            rotation_id=h.rotation_id,
            role=h.role,
            override_id=h.override_id,
            covered_by=h.member_id,
            starts_at=h.starts_at,
            ends_at=h.ends_at,
        )
        for h in held
        if h.member_id != h.scheduled_member_id
    ]


def _window_start(
    team: Team, start: dt.datetime, policy: PayPolicy | None
) -> dt.datetime:
    """Where accrual must start for a cap to count what came before ``start`` in
    its cap period (``start`` itself when there is no cap)."""
    if policy is None or policy.cap_hours is None:
        return start
    first = accrual.period_start(start.astimezone(team.tz).date(), policy.cap_period)
    begin = dt.datetime.combine(first, dt.time(0), tzinfo=team.tz).astimezone(dt.UTC)
    return min(begin, start)


def _limit_micros(policy: PayPolicy | None) -> int | None:
    if policy is None or policy.cap_hours is None:
        return None
    return int(Decimal(policy.cap_hours) * 3600 * 1_000_000)


@dataclass
class _Accrued:
    schedule: TeamSchedule
    held: list[accrual.Holding]
    paid: list[accrual.Piece]
    unpaid: list[accrual.Piece]
    rates: RateBook


def _held(schedule: TeamSchedule, rule: str) -> list[accrual.Holding]:
    """Who held what, by the team's rule for one person on two rotations at once.

    ``highest`` (the default) pays the team's effective schedule -- layers
    applied, as paged and as every other reader sees it: at each instant one
    primary and one secondary, never the same person, each at the rate of the
    rotation that supplied them.  A lower layer's holder is not paid while a
    higher layer covers them (they did not hold the role then), and someone on
    two rotations at once is paid only for the role the layers gave them.
    ``both`` pays each rotation's own timeline (overrides applied, layers not):
    the rotations are separate paid duties, so someone on two at once earns
    both, and a covered lower layer still pays its holder."""
    if rule == PayPolicy.BOTH:
        return accrual.holdings(
            itertools.chain.from_iterable(schedule.per_rotation.values())
        )
    return accrual.holdings(schedule.effective)


def _accrue(
    team: Team, since: dt.datetime, end: dt.datetime, policy: PayPolicy | None
) -> _Accrued:
    """Priced holdings over [since, end), the cap applied."""
    schedule = team_schedule(team=team, start=since, end=end)
    held = _held(schedule, policy.two_roles if policy else PayPolicy.HIGHEST)
    local_first = schedule.start.astimezone(team.tz).date()
    local_last = schedule.end.astimezone(team.tz).date()
    days = calendar_for(team.pk).days(local_first, local_last)
    rates = rate_book_for(team.pk)
    pieces = accrual.price(held, tz=team.tz, rates=rates, days=days)
    paid, capped = accrual.cap(
        pieces,
        limit_micros=_limit_micros(policy),
        period=policy.cap_period if policy else PayPolicy.QUARTER,
    )
    return _Accrued(schedule, held, paid, capped, rates)


def _units_begin(
    acc: _Accrued, start: dt.datetime, end: dt.datetime, since: dt.datetime
) -> dt.datetime | None:
    """The earliest start of a shift or override that ends in (start, end] and
    began before ``since``: a minimum per shift needs all of it."""
    if not acc.rates.has_minimum:
        return None
    return min(
        (
            h.unit_starts_at
            for h in acc.held
            if h.unit_starts_at is not None
            and h.unit_starts_at < since
            and start < accrual.unit_end(h) <= end
        ),
        default=None,
    )


def team_pay(*, team: Team, start: dt.datetime, end: dt.datetime) -> Report:
    """What each member of ``team`` accrued over [start, end) (aware instants),
    from the team's effective schedule: priced, the two-roles rule, the cap
    (counted from the start of its period), then the minimum per shift for the
    shifts and overrides that end in the range (counted from their start).  Both
    may need accrual from before ``start``; only what lies in the range is paid
    here."""
    policy = PayPolicy.objects.filter(team=team).first()
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    since = _window_start(team, start, policy)
    acc = _accrue(team, since, end, policy)
    earlier = _units_begin(acc, start, end, since)
    if earlier is not None:
        acc = _accrue(team, _window_start(team, earlier, policy), end, policy)
    topups = (
        accrual.minimums(acc.paid, start=start, end=end)
        if acc.rates.has_minimum
        else []
    )
    held = [
        h if h.starts_at >= start else replace(h, starts_at=start)
        for h in acc.held
        if h.ends_at > start
    ]
    return Report(
        team=team,
        start=start,
        end=acc.schedule.end,
        lines=lines_of(accrual.clip(acc.paid, start), topups),
        given_away=_given_away(held),
        unpaid=accrual.clip(acc.unpaid, start),
        members=_members_of(acc.schedule.members, held),
        rotation_names={r.pk: r.name for r in acc.schedule.rotations},
    )


def _members_of(
    known: dict[int, Member], held: Sequence[accrual.Holding]
) -> dict[int, Member]:
    wanted = {h.member_id for h in held} | {h.scheduled_member_id for h in held}
    members = dict(known)
    missing = wanted - set(members)
    if missing:
        members.update(
            (m.pk, m)
            for m in Member.objects.filter(pk__in=missing).select_related("user")
        )
    return members


def month_bounds(team: Team, year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month in the team's zone, as UTC instants."""
    first = dt.date(year, month, 1)
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (
        dt.datetime.combine(first, dt.time(0), tzinfo=team.tz).astimezone(dt.UTC),
        dt.datetime.combine(nxt, dt.time(0), tzinfo=team.tz).astimezone(dt.UTC),
    )


@dataclass(frozen=True)
class Row:
    """A statement line as shown, stored (closed months) and exported."""

    member_id: int
    username: str
    currency: str
    kind: str  # shift | override | adjustment
    rotation_id: int | None
    rotation_name: str
    role: str
    rate: str
    multiplier: Decimal
    reason: str
    hours: Decimal
    amount: Decimal  # with the currency's number of decimals
    rounding: Decimal
    refers_to: dt.date | None = None  # adjustments: the closed month
    note: str = ""
    shift_ids: tuple[int, ...] = ()
    override_ids: tuple[int, ...] = ()


def rows_of(report: Report) -> list[Row]:
    return [
        Row(
            member_id=ln.member_id,
            username=report.username(ln.member_id),
            currency=ln.currency,
            kind=ln.kind,
            rotation_id=ln.rotation_id,
            rotation_name=report.rotation_names.get(ln.rotation_id, ""),
            role=ln.role,
            rate=ln.rate.label(),
            multiplier=ln.multiplier,
            reason=ln.reason,
            hours=ln.hours,
            amount=ln.amount,
            rounding=ln.rounding,
            shift_ids=tuple(sorted(ln.shift_ids)),
            override_ids=tuple(sorted(ln.override_ids)),
        )
        for ln in report.lines
    ]


def row_totals(rows: Iterable[Row]) -> list[tuple[str, str, Decimal]]:
    """(username, currency, amount) sums of rounded rows, sorted."""
    sums: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row.username, row.currency)
        sums[key] = sums.get(key, Decimal(0)) + row.amount
    return sorted((u, c, a) for (u, c), a in sums.items())


def accrued_this_month(*, team: Team, now: dt.datetime) -> dict[str, Decimal]:
    """Per currency, the team's lines from the start of the current month (team's
    zone) to ``now``: what a statement would show if the month ended now."""
    local = now.astimezone(team.tz)
    start, _ = month_bounds(team, local.year, local.month)
    if now <= start:
        return {}
    sums: dict[str, Decimal] = {}
    for line in team_pay(team=team, start=start, end=now).lines:
        sums[line.currency] = sums.get(line.currency, Decimal(0)) + line.amount
    return sums
