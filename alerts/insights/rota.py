"""Time on call per member and role, from the one effective-schedule resolver.

Nothing here recomputes who was on call: :func:`scheduling.selectors.team_schedule`
(shifts, overrides and layers applied by ``scheduling/effective.py``) gives the
team's segments, and this module only adds up their lengths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from scheduling.models import Member, Team
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_schedule


@dataclass
class OnCallTime:
    primary: dt.timedelta = field(default_factory=dt.timedelta)
    secondary: dt.timedelta = field(default_factory=dt.timedelta)

    @property
    def total(self) -> dt.timedelta:
        return self.primary + self.secondary

    def hours(self, role: str | None = None) -> float:
        value = {PRIMARY: self.primary, SECONDARY: self.secondary}.get(
            role or "", self.total
        )
        return value.total_seconds() / 3600


@dataclass
class TeamOnCall:
    """Who held which role for how long over [start, end)."""

    start: dt.datetime
    end: dt.datetime
    by_member: dict[int, OnCallTime]
    members: dict[int, Member]

    def of(self, member_id: int) -> OnCallTime:
        return self.by_member.get(member_id, OnCallTime())


def oncall_time(*, team: Team, start: dt.datetime, end: dt.datetime) -> TeamOnCall:
    """Each member's time as primary and as secondary of ``team`` over [start, end)."""
    schedule = team_schedule(team=team, start=start, end=end)
    by_member: dict[int, OnCallTime] = {}
    for segment in schedule.effective:
        length = segment.ends_at - segment.starts_at
        primary, secondary = segment.resolution.roles()
        if primary is not None:
            by_member.setdefault(primary.member_id, OnCallTime()).primary += length
        if secondary is not None:
            by_member.setdefault(secondary.member_id, OnCallTime()).secondary += length
    return TeamOnCall(schedule.start, schedule.end, by_member, schedule.members)
