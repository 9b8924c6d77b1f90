"""A rotation's schedule as a pure function of its definition.

Nothing here touches the database: given a :class:`RotationPlan` (scheme, ordered
participants, first handoff as a *local wall-clock* time, step, time zone, optional
restriction) it says which shifts exist in any UTC range.  Materialization
(:mod:`scheduling.materialize`) stores what this computes; the property tests exercise
it directly over many IANA zones.

Handoffs are wall-clock times: a weekly rotation handing off Mondays 09:00 hands off at
09:00 local on the Monday after a DST change too, so that week's shift is 167 or 169
hours long.  Two wall-clock edge cases have a fixed rule:

* a handoff time that does not exist (it falls in a spring-forward gap) happens at the
  first instant after the gap, the transition itself;
* a handoff time that happens twice (fall-back) happens at its first occurrence.

With those rules the wall-clock-to-UTC map is non-decreasing, so consecutive
boundaries tile time: no gaps, no overlaps, in every zone.  When two boundaries map to
the same instant (a shift of a few hours that falls entirely inside a gap) that
zero-length shift is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC

PRIMARY = "primary"
SECONDARY = "secondary"
ROLES = (PRIMARY, SECONDARY)

PAIRED = "paired"
FOLLOW = "follow"
PRIMARY_ONLY = "primary_only"
SCHEMES = (PAIRED, FOLLOW, PRIMARY_ONLY)

WEEKS = "weeks"
DAYS = "days"
HOURS = "hours"
UNITS = (WEEKS, DAYS, HOURS)


class PlanError(ValueError):
    """A definition that cannot generate a schedule (e.g. odd paired roster)."""


def roles_of(scheme: str) -> tuple[str, ...]:
    return (PRIMARY,) if scheme == PRIMARY_ONLY else ROLES


def scheme_problem(scheme: str, participants: int) -> str | None:
    """Why ``participants`` people cannot run ``scheme``, or None if they can."""
    if scheme not in SCHEMES:
        return f"unknown scheme {scheme!r}"
    if scheme == PAIRED:
        if participants < 2 or participants % 2:
            return (
                "the paired scheme pairs people in order, so it needs an even number "
                f"of participants (at least 2); this rotation has {participants}"
            )
    elif scheme == FOLLOW:
        if participants < 2:
            return (
                "the follow scheme makes the previous primary the secondary, so it "
                f"needs at least 2 participants; this rotation has {participants}"
            )
    elif participants < 1:
        return "a rotation needs at least one participant"
    return None


def step_of(length: int, unit: str) -> dt.timedelta:
    if length < 1:
        raise PlanError("the shift length must be at least 1")
    if unit == WEEKS:
        return dt.timedelta(weeks=length)
    if unit == DAYS:
        return dt.timedelta(days=length)
    if unit == HOURS:
        return dt.timedelta(hours=length)
    raise PlanError(f"unknown shift unit {unit!r}")


def cycle_length(scheme: str, participants: int) -> int:
    """Shifts until the assignment repeats: each person holds each role once."""
    return participants


def assignment(
    scheme: str, participants: tuple[int, ...], k: int
) -> list[tuple[str, int]]:
    """Who holds which role in slot ``k`` (0 = the first shift of the rotation).

    paired: people are paired in order (1+2, 3+4, ...); in the first half of the cycle
    the first of each pair is primary, in the second half the roles swap.  With six
    people this is exactly the table of DESIGN.md §7.
    follow: the secondary is the previous slot's primary (context carries over).
    """
    n = len(participants)
    if scheme == PRIMARY_ONLY:
        return [(PRIMARY, participants[k % n])]
    if scheme == FOLLOW:
        return [
            (PRIMARY, participants[k % n]),
            (SECONDARY, participants[(k - 1) % n]),
        ]
    if scheme == PAIRED:
        half = n // 2
        j = k % n
        if j < half:
            return [
                (PRIMARY, participants[2 * j]),
                (SECONDARY, participants[2 * j + 1]),
            ]
        j -= half
        return [(PRIMARY, participants[2 * j + 1]), (SECONDARY, participants[2 * j])]
    raise PlanError(f"unknown scheme {scheme!r}")


def wall_to_utc(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant at which local wall-clock time ``wall`` (naive) happens.

    Ambiguous (repeated) times resolve to their first occurrence; times inside a gap
    resolve to the end of the gap (the transition instant).
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap.  fold=1 maps with the offset after the transition, landing before
    # it; fold=0 maps with the offset before, landing after it.  The transition is
    # the first second between the two carrying the later offset.
    lo = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(first.timestamp())
    after = first.astimezone(tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


@dataclass(frozen=True)
class Restriction:
    """Local windows a rotation covers: on each of ``weekdays`` (0 = Monday) from
    ``start`` to ``end``; an ``end`` at or before ``start`` runs past midnight into the
    next day (follow-the-sun night windows)."""

    weekdays: frozenset[int]
    start: dt.time
    end: dt.time

    def windows(
        self, tz: ZoneInfo, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """UTC windows overlapping [start, end), in order, adjacent ones merged."""
        first_day = start.astimezone(tz).date() - dt.timedelta(days=1)
        last_day = end.astimezone(tz).date()
        crosses = self.end <= self.start
        pending: tuple[dt.datetime, dt.datetime] | None = None
        day = first_day
        while day <= last_day:
            if day.weekday() in self.weekdays:
                end_day = day + dt.timedelta(days=1) if crosses else day
                a = wall_to_utc(dt.datetime.combine(day, self.start), tz)
                b = wall_to_utc(dt.datetime.combine(end_day, self.end), tz)
                if a < b and b > start and a < end:
                    if pending and pending[1] >= a:
                        pending = (pending[0], max(pending[1], b))
                    else:
                        if pending:
                            yield pending
                        pending = (a, b)
            day += dt.timedelta(days=1)
        if pending:
            yield pending


@dataclass(frozen=True)
class Slot:
    index: int
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class PlannedShift:
    """A shift as the definition says it should be (unsaved)."""

    slot: int
    role: str
    member_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class RotationPlan:
    scheme: str
    participants: tuple[int, ...]
    anchor: dt.datetime  # naive local wall-clock time of the first handoff
    step: dt.timedelta  # wall-clock step between handoffs
    tz: ZoneInfo
    restriction: Restriction | None = None

    def problem(self) -> str | None:
        return scheme_problem(self.scheme, len(self.participants))

    def boundary(self, k: int) -> dt.datetime:
        return wall_to_utc(self.anchor + k * self.step, self.tz)

    @property
    def starts_at(self) -> dt.datetime:
        return self.boundary(0)

    def slots(self, start: dt.datetime, end: dt.datetime) -> Iterator[Slot]:
        """Slots overlapping [start, end), whole (not clipped), in order."""
        first = self.starts_at
        if end <= first:
            return
        # Wall-clock steps and real durations differ by at most the zone's offset
        # changes (hours), so this estimate is within a step or two of the answer.
        k = max(0, int((start - first) / self.step) - 2)
        lower = self.boundary(k)
        while k > 0 and lower > start:  # a zone that once jumped by a whole day
            k -= 1
            lower = self.boundary(k)
        while lower < end:
            upper = self.boundary(k + 1)
            if upper > start and upper > lower:
                yield Slot(k, lower, upper)
            k += 1
            lower = upper

    def slot_at(self, at: dt.datetime) -> Slot | None:
        for slot in self.slots(at, at + dt.timedelta(microseconds=1)):
            if slot.starts_at <= at < slot.ends_at:
                return slot
        return None

    def shifts(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        clip: dt.datetime | None = None,
    ) -> tuple[list[PlannedShift], dt.datetime | None]:
        """The shifts of every slot that begins before ``end`` and ends after
        ``start``: pieces are clipped at ``clip`` (``start`` unless given) but run
        whole past ``end`` so materialization never splits a shift at the horizon.
        A reader asking about an instant past the stored shifts passes the horizon
        as ``clip``, so the shift under way keeps its real start.

        Returns the shifts and the end of the last slot considered (None if none).
        """
        problem = self.problem()
        if problem:
            raise PlanError(problem)
        shifts: list[PlannedShift] = []
        slots = list(self.slots(start, end))
        if not slots:
            return shifts, None
        pieces_by_slot = self._pieces(slots)
        floor = start if clip is None else min(clip, start)
        for s in slots:
            roles = assignment(self.scheme, self.participants, s.index)
            for a, b in pieces_by_slot[s.index]:
                a = max(a, floor)
                if a >= b:
                    continue
                for role, member_id in roles:
                    shifts.append(PlannedShift(s.index, role, member_id, a, b))
        return shifts, slots[-1].ends_at

    def _pieces(
        self, slots: list[Slot]
    ) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
        """Per slot index, the parts of the slot the restriction covers (the whole
        slot without a restriction)."""
        if self.restriction is None:
            return {s.index: [(s.starts_at, s.ends_at)] for s in slots}
        windows = list(
            self.restriction.windows(self.tz, slots[0].starts_at, slots[-1].ends_at)
        )
        # Both lists are sorted and windows do not overlap: one merge pass.
        pieces_by_slot: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
        w = 0
        for s in slots:
            while w < len(windows) and windows[w][1] <= s.starts_at:
                w += 1
            pieces = []
            i = w
            while i < len(windows) and windows[i][0] < s.ends_at:
                a, b = windows[i]
                pieces.append((max(a, s.starts_at), min(b, s.ends_at)))
                i += 1
            pieces_by_slot[s.index] = pieces
        return pieces_by_slot


@dataclass(frozen=True)
class SlotPreview:
    slot: Slot
    roles: list[tuple[str, int]]


def preview(
    plan: RotationPlan, after: dt.datetime, count: int = 12
) -> list[SlotPreview]:
    """The next ``count`` slots from ``after`` (the one under way included), with who
    holds each role; restriction windows are not applied (slots, not pieces)."""
    problem = plan.problem()
    if problem:
        raise PlanError(problem)
    out: list[SlotPreview] = []
    end = max(after, plan.starts_at) + plan.step * (count + 2)
    for slot in plan.slots(after, end):
        out.append(
            SlotPreview(slot, assignment(plan.scheme, plan.participants, slot.index))
        )
        if len(out) == count:
            break
    return out
