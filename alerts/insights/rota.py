"""Time on call per member and role, from the one effective-schedule resolver.

Nothing here recomputes who was on call: :func:`scheduling.selectors.team_schedule`
(shifts, overrides and layers applied by ``scheduling/effective.py``) gives the
team's segments, and this module only adds up their lengths.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from scheduling.models import Member, Rotation, Team
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.rota_share import MAX_SHARE, scheme_advice, scheme_share
from scheduling.selectors import TeamSchedule, team_schedule


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


def oncall_time(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    schedule: TeamSchedule | None = None,
) -> TeamOnCall:
    """Each member's time as primary and as secondary of ``team`` over [start, end).
    ``schedule``: the team's effective schedule over [start, end) or longer (the
    insights page shares one; segments are cut to the period)."""
    schedule = schedule or team_schedule(team=team, start=start, end=end)
    by_member: dict[int, OnCallTime] = {}
    for segment in schedule.effective:
        length = min(segment.ends_at, end) - max(segment.starts_at, start)
        if length <= dt.timedelta():
            continue
        primary, secondary = segment.resolution.roles()
        if primary is not None:
            by_member.setdefault(primary.member_id, OnCallTime()).primary += length
        if secondary is not None:
            by_member.setdefault(secondary.member_id, OnCallTime()).secondary += length
    return TeamOnCall(start, end, by_member, schedule.members)


# --- rota health: each member's share of time on call ----------------------------


@dataclass(frozen=True)
class Share:
    member: Member
    hours: float
    share: float

    @property
    def flagged(self) -> bool:
        return self.share > MAX_SHARE


@dataclass(frozen=True)
class RotationHealth:
    rotation: Rotation
    people: int
    roles: int
    shares: list[Share]

    @property
    def scheme_share(self) -> float | None:
        """The share the scheme itself gives each person: roles / people."""
        return scheme_share(roles=self.roles, people=self.people)

    @property
    def flagged(self) -> bool:
        share = self.scheme_share
        return any(s.flagged for s in self.shares) or (
            share is not None and share > MAX_SHARE
        )

    @property
    def advice(self) -> str:
        """What the scheme means for each person, said plainly, with the fix."""
        return scheme_advice(roles=self.roles, people=self.people)


def rota_health(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    schedule: TeamSchedule | None = None,
) -> list[RotationHealth]:
    """Each active rotation's people and their measured share of [start, end) on
    call in it (either role; overrides applied), beside the scheme's own share.
    ``schedule``: the team's schedule over [start, end) or longer (shared by the
    insights page; segments are cut to the period)."""
    schedule = schedule or team_schedule(team=team, start=start, end=end)
    length = (end - start).total_seconds()
    found = []
    rotations = [r for r in schedule.rotations if r.active]
    participants = {
        r.pk: list(r.participants.all())
        for r in Rotation.objects.filter(
            pk__in=[r.pk for r in rotations]
        ).prefetch_related("participants__user")
    }
    for rotation in rotations:
        held: dict[int, dt.timedelta] = {}
        for segment in schedule.per_rotation.get(rotation.pk, []):
            part = min(segment.ends_at, end) - max(segment.starts_at, start)
            if part <= dt.timedelta():
                continue
            for holder in segment.resolution.roles():
                if holder is not None:
                    held[holder.member_id] = (
                        held.get(holder.member_id, dt.timedelta()) + part
                    )
        people = {m.pk: m for m in participants.get(rotation.pk, [])}
        people.update(schedule.members)
        shares = [
            Share(
                people[member_id],
                time.total_seconds() / 3600,
                time.total_seconds() / length if length else 0.0,
            )
            for member_id, time in held.items()
            if member_id in people
        ]
        shares.sort(key=lambda s: (-s.share, s.member.username))
        found.append(
            RotationHealth(
                rotation,
                len(participants.get(rotation.pk, [])),
                len(rotation.roles),
                shares,
            )
        )
    return found
