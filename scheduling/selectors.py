"""Reads: who is on call, a member's next shift, a team's effective schedule.

:func:`oncall_at` is *the* answer to "who is on call" -- the API, the command, the
admin, alert routing and escalation all ask it -- so it is built to stay cheap: a
fixed handful of index-backed queries whatever the length of history (see the index
on ``Shift(rotation, ends_at)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Max, Min, Prefetch, Q

from scheduling.effective import (
    Resolution,
    Segment,
    resolve,
    rotation_timeline,
    team_timeline,
)
from scheduling.models import (
    Member,
    Override,
    Rotation,
    RotationParticipant,
    Shift,
    Team,
)
from scheduling.plan import PRIMARY, SECONDARY, PlanError

UTC = dt.UTC


def _aware_utc(value: dt.datetime, name: str = "at") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a UTC offset)")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class OnCallAt:
    """Who is on call for ``team`` at ``at``.

    ``shift_start``/``shift_end`` bound the primary's current stint: the shift that
    puts them there, narrowed to the override that does (if any) and to where a
    higher layer takes over.  All None when nobody is on call.
    """

    team: Team
    at: dt.datetime
    primary: Member | None
    secondary: Member | None
    shift_start: dt.datetime | None
    shift_end: dt.datetime | None
    override: bool
    rotation: Rotation | None = None  # where the primary comes from


def _rotations(team: Team) -> list[Rotation]:
    # Highest layer first; among equals, the older rotation.
    return list(Rotation.objects.filter(team=team).order_by("-layer", "pk"))


def _planned(
    rotations: Iterable[Rotation], start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """Unsaved shifts for the part of [start, end) past each rotation's
    materialized horizon, so a question about next year still has an answer."""
    beyond = [
        r
        for r in rotations
        if r.active and r.generated_until is not None and end > r.generated_until
    ]
    if not beyond:
        return []
    participants = Prefetch(
        "rotationparticipant_set",
        queryset=RotationParticipant.objects.order_by("position", "id"),
    )
    rows: list[Shift] = []
    for rotation in Rotation.objects.filter(
        pk__in=[r.pk for r in beyond]
    ).prefetch_related(participants):
        if rotation.generated_until is None:
            continue  # read again since ``beyond``: its horizon was just cleared
        since = max(start, rotation.generated_until)
        try:
            # Clipped at the horizon, not at ``start``: the shift under way at
            # ``start`` keeps its real start (what who-is-on-call reports).
            planned, _ = rotation.build_plan().shifts(
                since, end, clip=rotation.generated_until
            )
        except PlanError:
            continue
        rows.extend(
            Shift.from_plan(rotation.pk, s) for s in planned if s.starts_at < end
        )
    return rows


def _members(ids: set[int], known: Iterable[Member]) -> dict[int, Member]:
    found = {m.pk: m for m in known}
    missing = ids - set(found)
    if missing:
        found.update(
            (m.pk, m)
            for m in Member.objects.filter(pk__in=missing).select_related("user")
        )
    return found


def oncall_at(*, team: Team, at: dt.datetime) -> OnCallAt:
    """Who is primary and secondary for ``team`` at ``at`` (aware), overrides and
    layers applied."""
    at = _aware_utc(at)
    rotations = _rotations(team)
    if not rotations:
        return OnCallAt(team, at, None, None, None, None, False)
    by_id = {r.pk: r for r in rotations}
    precedence = [r.pk for r in rotations]
    covering = Q(rotation_id__in=precedence, ends_at__gt=at, starts_at__lte=at)
    # No ORDER BY: resolve() needs none, and sorting is work the index would not do.
    shifts = list(
        Shift.objects.filter(covering).select_related("member__user").order_by()
    )
    shifts += _planned(rotations, at, at + dt.timedelta(microseconds=1))
    shifts = [s for s in shifts if s.starts_at <= at < s.ends_at]
    overrides = list(
        Override.objects.filter(covering).select_related("member__user").order_by()
    )

    res = resolve(precedence, shifts, overrides)
    if res.primary is None:
        return OnCallAt(team, at, None, None, None, None, False)
    members = _members(
        {h.member_id for h in res.roles() if h is not None},
        [s.member for s in shifts if s.pk] + [o.member for o in overrides],
    )
    start, end = _stint_bounds(res, precedence, at)
    return OnCallAt(
        team=team,
        at=at,
        primary=members[res.primary.member_id],
        secondary=members[res.secondary.member_id] if res.secondary else None,
        shift_start=start,
        shift_end=end,
        override=res.override,
        rotation=by_id[res.primary.rotation_id],
    )


def _stint_bounds(
    res: Resolution, precedence: Sequence[int], at: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    holder = res.primary
    if holder is None:
        raise ValueError("no primary: no stint to bound")
    start, end = holder.shift.starts_at, holder.shift.ends_at
    if holder.override is not None:
        start = max(start, holder.override.starts_at)
        end = min(end, holder.override.ends_at)
    higher = precedence[: precedence.index(holder.rotation_id)]
    if higher:
        # A higher layer that ended inside this shift, or starts inside it, bounds
        # the stint.  Both are range scans of the (rotation, ends_at) index limited
        # to this shift's span, so history does not make them slower.
        around = Shift.objects.filter(rotation_id__in=higher, role=PRIMARY)
        before = around.filter(ends_at__gt=start, ends_at__lte=at).aggregate(
            m=Max("ends_at")
        )["m"]
        after = around.filter(
            ends_at__gt=at, starts_at__gt=at, starts_at__lt=end
        ).aggregate(m=Min("starts_at"))["m"]
        start = max(start, before) if before else start
        end = min(end, after) if after else end
    return start, end


@dataclass(frozen=True)
class MemberShift:
    """A stretch during which a member effectively holds a role for a team."""

    team: Team
    rotation: Rotation
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    override: bool


def team_rows(
    *, team: Team, start: dt.datetime, end: dt.datetime
) -> tuple[list[Rotation], list[Shift], list[Override]]:
    """Everything of ``team`` that overlaps [start, end): rotations (highest layer
    first), shifts (stored, plus planned past the horizon), overrides."""
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    rotations = _rotations(team)
    ids = [r.pk for r in rotations]
    overlap = Q(rotation_id__in=ids, ends_at__gt=start, starts_at__lt=end)
    shifts = list(Shift.objects.filter(overlap).order_by("starts_at"))
    shifts += _planned(rotations, start, end)
    overrides = list(Override.objects.filter(overlap).order_by("starts_at", "pk"))
    return rotations, shifts, overrides


@dataclass
class TeamSchedule:
    """A team's rows over [start, end) and, computed on first use (each reader
    needs one or both), its effective schedule:

    - ``effective``: the team's answer (layers and overrides applied);
    - ``per_rotation``: each rotation with its own overrides (what pay reads).
    """

    team: Team
    start: dt.datetime
    end: dt.datetime
    rotations: list[Rotation]
    members: dict[int, Member]
    shifts: list[Shift]
    overrides: list[Override]
    only_rotation: int | None = None

    @cached_property
    def effective(self) -> list[Segment]:
        return team_timeline(
            [r.pk for r in self.rotations],
            self.shifts,
            self.overrides,
            self.start,
            self.end,
        )

    @cached_property
    def per_rotation(self) -> dict[int, list[Segment]]:
        # Grouped once: filtering every row per rotation costs rotations x rows,
        # which a team of 1,000 rotations notices (bench/pay_statements.py).
        shifts: dict[int, list[Shift]] = {}
        for s in self.shifts:
            shifts.setdefault(s.rotation_id, []).append(s)
        overrides: dict[int, list[Override]] = {}
        for o in self.overrides:
            overrides.setdefault(o.rotation_id, []).append(o)
        return {
            r.pk: rotation_timeline(
                r.pk,
                shifts.get(r.pk, []),
                overrides.get(r.pk, []),
                self.start,
                self.end,
            )
            for r in self.rotations
            if self.only_rotation in (None, r.pk)
        }


def team_schedule(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    only_rotation: int | None = None,
) -> TeamSchedule:
    """The team's effective schedule over [start, end), for pictures and reports.

    Both timelines are computed on first use; ``per_rotation`` holds every
    rotation's own timeline, or only that of ``only_rotation`` (a rotation's
    feed)."""
    rotations, shifts, overrides = team_rows(team=team, start=start, end=end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    ids = {s.member_id for s in shifts} | {o.member_id for o in overrides}
    members = {
        m.pk: m for m in Member.objects.filter(pk__in=ids).select_related("user")
    }
    return TeamSchedule(
        team, start, end, rotations, members, shifts, overrides, only_rotation
    )


def next_shift_for(*, member: Member, after: dt.datetime) -> MemberShift | None:
    """The member's first on-call stretch (primary or secondary, layers and
    overrides applied) starting at or after ``after``; None if none is scheduled
    within the materialized horizon."""
    after = _aware_utc(after, "after")
    team_ids = set(
        Rotation.objects.filter(
            Q(participants=member)
            | Q(overrides__member=member, overrides__ends_at__gt=after)
        ).values_list("team_id", flat=True)
    )
    best: MemberShift | None = None
    # Start a hair earlier so a stretch already under way is seen as such (and
    # skipped) rather than as one starting at ``after``.
    since = after - dt.timedelta(microseconds=1)
    for team in Team.objects.filter(pk__in=team_ids):
        horizon = Rotation.objects.filter(team=team).aggregate(
            m=Max("generated_until")
        )["m"]
        if horizon is None or horizon <= after:
            continue
        rotations, shifts, overrides = team_rows(team=team, start=since, end=horizon)
        by_id = {r.pk: r for r in rotations}
        segments = team_timeline(
            [r.pk for r in rotations], shifts, overrides, since, horizon
        )
        found = _first_stint(member.pk, segments, since)
        if found is None:
            continue
        role, a, b, rotation_id, by_override = found
        if best is None or a < best.starts_at:
            best = MemberShift(team, by_id[rotation_id], role, a, b, by_override)
    return best


def _first_stint(
    member_id: int, segments: Sequence[Segment], since: dt.datetime
) -> tuple[str, dt.datetime, dt.datetime, int, bool] | None:
    """The member's first stretch in ``segments`` not already under way at
    ``since`` (the window's start): consecutive segments in the same role join."""
    stints: list[list] = []
    for seg in segments:
        role = _role_of(member_id, seg.resolution)
        if role is None:
            continue
        holder = getattr(seg.resolution, role)
        last = stints[-1] if stints else None
        if last and last[0] == role and last[2] == seg.starts_at:
            last[2] = seg.ends_at
            last[4] = last[4] or holder.override is not None
            continue
        if len(stints) == 2:
            break  # the second one is complete: it is followed by something else
        stints.append(
            [
                role,
                seg.starts_at,
                seg.ends_at,
                holder.rotation_id,
                holder.override is not None,
            ]
        )
    for stint in stints:
        if stint[1] > since:
            return tuple(stint)
    return None


def _role_of(member_id: int, res: Resolution) -> str | None:
    if res.primary is not None and res.primary.member_id == member_id:
        return PRIMARY
    if res.secondary is not None and res.secondary.member_id == member_id:
        return SECONDARY
    return None


def rotation_inactive_members(*, rotation_id: int | str) -> list[Member]:
    """Members still in a rotation's roster who are no longer active (they would
    still be scheduled), in roster order."""
    participants = RotationParticipant.objects.filter(
        rotation_id=rotation_id, member__active=False
    ).select_related("member__user")
    return [p.member for p in participants]
