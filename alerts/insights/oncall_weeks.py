"""On-call weeks: each member's stretches on call, handoff to handoff.

An *on-call week* is what the member lives through, not a calendar week: from
the handoff that gave them the pager to the handoff that took it away, as the
one effective-schedule resolver (``scheduling.selectors.team_schedule``: shifts,
overrides and layers applied) gives it.  A rotation that hands off on Wednesdays
at 09:00 local time has weeks from Wednesday 09:00 to Wednesday 09:00, across a
DST change too (the handoff is at 09:00 on the wall clock; the week is then 167
or 169 hours long).

* A member's time on call in either role is one stretch while it is unbroken;
  gaps shorter than :data:`JOIN_GAP` (an override that covers an afternoon) do
  not end it.
* A stretch longer than :data:`LONGEST` (a primary week followed by a secondary
  week, a team of one) is cut into pieces of 7 days from its first handoff; each
  piece after the first is :attr:`OnCallWeek.follows` (back to back with the one
  before).
* A stretch that began before the report's period is looked for up to
  :data:`LOOKBACK` earlier, so its weeks keep their handoff boundaries.
* A page the member got outside any of their on-call weeks (an escalation to a
  manager, a page after a swap) falls in an *off-rota* week: Monday 00:00 to
  Monday 00:00 in the team's time zone.

The weeks are instants (UTC); the reports show them in the team's zone.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, Value, When

from scheduling.selectors import TeamSchedule, team_schedule

JOIN_GAP = dt.timedelta(hours=12)
LONGEST = dt.timedelta(days=7)
LOOKBACK = dt.timedelta(days=28)
OFF_ROTA = -1  # the SQL index of a page outside the member's on-call weeks


@dataclass(frozen=True)
class OnCallWeek:
    member_id: int
    start: dt.datetime  # UTC: the handoff (or a 7-day cut) that began it
    end: dt.datetime
    held: dt.timedelta  # time on call in it (either role), the whole week
    follows: bool  # back to back: it began where the member's last one ended
    on_rota: bool = True

    @property
    def key(self) -> tuple[int, dt.datetime]:
        return (self.member_id, self.start)


def _held_intervals(
    schedule: TeamSchedule,
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    held: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for segment in schedule.effective:
        for member_id in {h.member_id for h in segment.resolution.roles() if h}:
            held[member_id].append((segment.starts_at, segment.ends_at))
    return held


def _stretches(
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> list[list[tuple[dt.datetime, dt.datetime]]]:
    """The intervals (in time order) grouped into stretches: a gap shorter than
    :data:`JOIN_GAP` keeps a stretch going."""
    found: list[list[tuple[dt.datetime, dt.datetime]]] = []
    for start, end in sorted(intervals):
        if found and start - found[-1][-1][1] < JOIN_GAP:
            found[-1].append((start, end))
        else:
            found.append([(start, end)])
    return found


def _overlap(
    intervals: list[tuple[dt.datetime, dt.datetime]],
    lo: dt.datetime,
    hi: dt.datetime,
) -> dt.timedelta:
    total = dt.timedelta()
    for start, end in intervals:
        cut = min(end, hi) - max(start, lo)
        if cut > dt.timedelta():
            total += cut
    return total


@dataclass
class OnCallWeeks:
    """Every member's on-call weeks overlapping a period, and where an instant
    falls for a member."""

    start: dt.datetime
    end: dt.datetime
    tz: dt.tzinfo
    weeks: dict[int, list[OnCallWeek]]  # per member, in time order

    def of(self, member_id: int, at: dt.datetime) -> OnCallWeek:
        """The member's week holding ``at``: an on-call week, else the off-rota
        calendar week (Monday 00:00 in the team's zone)."""
        mine = self.weeks.get(member_id, [])
        i = bisect.bisect_right([w.start for w in mine], at) - 1
        if i >= 0 and at < mine[i].end:
            return mine[i]
        start, end = calendar_week(at, self.tz)
        return OnCallWeek(member_id, start, end, dt.timedelta(), False, False)

    def previous(self, week: OnCallWeek) -> OnCallWeek | None:
        mine = self.weeks.get(week.member_id, [])
        i = next((n for n, w in enumerate(mine) if w.start == week.start), None)
        return mine[i - 1] if i else None

    def sql_index(self, *, member_field: str, instant: str) -> Any:
        """An SQL ``CASE``: the position of the member's on-call week holding the
        row's ``instant`` in :meth:`flat`, or :data:`OFF_ROTA`.  As long as the
        number of weeks in the period, never of rows."""
        whens = [
            When(
                Q(**{member_field: w.member_id})
                & Q(**{f"{instant}__gte": w.start, f"{instant}__lt": w.end}),
                then=Value(i),
            )
            for i, w in enumerate(self.flat())
        ]
        if not whens:
            return Value(OFF_ROTA, output_field=IntegerField())
        return Case(*whens, default=Value(OFF_ROTA), output_field=IntegerField())

    def flat(self) -> list[OnCallWeek]:
        return [w for member in sorted(self.weeks) for w in self.weeks[member]]


def calendar_week(at: dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to Monday 00:00 in ``tz`` around ``at``, as UTC instants."""
    day = at.astimezone(tz).date()
    monday = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def oncall_weeks(
    *,
    team: Any,
    start: dt.datetime,
    end: dt.datetime,
    schedule: TeamSchedule | None = None,
) -> OnCallWeeks:
    """Each member's on-call weeks overlapping [start, end).  ``schedule``, when
    given, must cover [start - LOOKBACK, end + LONGEST) (:func:`schedule_for`)."""
    schedule = schedule or schedule_for(team=team, start=start, end=end)
    weeks: dict[int, list[OnCallWeek]] = {}
    for member_id, intervals in _held_intervals(schedule).items():
        mine: list[OnCallWeek] = []
        for stretch in _stretches(intervals):
            first, last = stretch[0][0], stretch[-1][1]
            at, follows = first, False
            while at < last:
                cut = min(last, at + LONGEST)
                if cut > start and at < end:
                    held = _overlap(stretch, at, cut)
                    mine.append(OnCallWeek(member_id, at, cut, held, follows))
                at, follows = cut, True
        if mine:
            weeks[member_id] = mine
    return OnCallWeeks(start, end, team.tz, weeks)


def schedule_for(*, team: Any, start: dt.datetime, end: dt.datetime) -> TeamSchedule:
    """The effective schedule the weeks of [start, end) are cut from: reaching
    back to a stretch's first handoff and on to its last."""
    return team_schedule(team=team, start=start - LOOKBACK, end=end + LONGEST)
