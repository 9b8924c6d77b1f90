"""The schedule picture: a team's coming weeks laid out as lanes of bars.

Computes geometry only (percent offsets and widths, labels, colours); the template
``admin/scheduling/team/schedule.html`` draws it with plain HTML and CSS, so there is
no JavaScript and nothing to build.  The horizontal axis is real time in the team's
zone: a 25-hour DST day is drawn 25 hours wide, as it is lived.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from scheduling.conflicts import Conflict, team_conflicts
from scheduling.effective import Holder, Segment
from scheduling.models import Member, Rotation, Team
from scheduling.plan import PRIMARY, SECONDARY, wall_to_utc
from scheduling.selectors import OnCallAt, TeamSchedule, oncall_at, team_schedule
from scheduling.timeparse import EARLIEST, LATEST

# Distinct, calm colours with white text legible on all of them.
PALETTE = [
    "#3b6fd1",
    "#2f9e76",
    "#c2571a",
    "#8a4fc7",
    "#c23a63",
    "#1f8ea3",
    "#7a8a1a",
    "#b5472d",
    "#4b5bb8",
    "#2e7d4f",
    "#a35a9b",
    "#5f6b7a",
]
DEFAULT_WEEKS = 4
MAX_WEEKS = 12


@dataclass
class Bar:
    left: float
    width: float
    label: str
    color: str
    title: str
    override: bool
    clipped_left: bool
    clipped_right: bool


@dataclass
class Mark:
    """A conflict drawn over a bar: the holder is unavailable for this stretch."""

    left: float
    width: float
    title: str


@dataclass
class Lane:
    label: str
    sublabel: str
    bars: list[Bar] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class CoverChoice:
    member_id: int
    name: str
    hours: str


@dataclass
class ConflictRow:
    """A conflict listed under the picture, with its one-click covers."""

    key: str
    who: str
    role: str
    rotation: str
    when: str
    reasons: str
    covers: list[CoverChoice]


@dataclass
class LaneGroup:
    title: str
    detail: str
    lanes: list[Lane]
    url: str = ""


@dataclass
class Day:
    left: float
    width: float
    label: str
    weekday: str
    weekend: bool
    today: bool
    month_start: bool


@dataclass
class Picture:
    team: Team
    start: dt.datetime
    end: dt.datetime
    start_date: dt.date
    weeks: int
    days: list[Day]
    groups: list[LaneGroup]
    now_left: float | None
    now_label: str
    now: OnCallAt
    legend: list[tuple[str, str]]
    prev_start: str
    next_start: str
    today_start: str
    week_choices: list[int]
    tz_name: str
    last_date: dt.date
    now_until: str = ""
    now_primary_color: str = ""
    now_secondary_color: str = ""
    conflicts: list[ConflictRow] = field(default_factory=list)


def _parse_start(raw: str | None, today: dt.date) -> dt.date:
    monday = today - dt.timedelta(days=today.weekday())
    if not raw:
        return monday
    try:
        start = dt.date.fromisoformat(raw)
    except ValueError:
        return monday
    # Out of the range schedule questions may name (the picture runs 12 weeks on
    # from here): treated like any other bad input, not a 500.
    if not EARLIEST.date() < start < LATEST.date() - dt.timedelta(weeks=MAX_WEEKS + 1):
        return monday
    return start


def _parse_weeks(raw: str | None) -> int:
    try:
        weeks = int(raw) if raw else DEFAULT_WEEKS
    except ValueError:
        return DEFAULT_WEEKS
    return min(max(weeks, 1), MAX_WEEKS)


def _fmt(at: dt.datetime, tz: Any) -> str:
    local = at.astimezone(tz)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def _hours(a: dt.datetime, b: dt.datetime) -> str:
    hours = (b - a).total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:.3g} days"


def schedule_picture(
    *, team: Team, now: dt.datetime, start: str | None = None, weeks: str | None = None
) -> Picture:
    """The picture of ``team``'s schedule for ``weeks`` weeks (default 4) from the
    local date ``start`` (default this week's Monday); bad input falls back to the
    defaults."""
    tz = team.tz
    today = now.astimezone(tz).date()
    start_date = _parse_start(start, today)
    n_weeks = _parse_weeks(weeks)
    end_date = start_date + dt.timedelta(weeks=n_weeks)
    t0 = _midnight(start_date, tz)
    t1 = _midnight(end_date, tz)
    schedule = team_schedule(team=team, start=t0, end=t1)
    canvas = _Canvas.of(tz=tz, t0=t0, t1=t1, members=schedule.members)
    current = oncall_at(team=team, at=now)
    conflicts = team_conflicts(team=team, start=t0, end=t1, now=now, schedule=schedule)
    groups = _groups(canvas, schedule)
    if groups:
        _mark(canvas, groups[0], conflicts)
    return Picture(
        team=team,
        start=t0,
        end=t1,
        start_date=start_date,
        weeks=n_weeks,
        days=_days(canvas, start_date, end_date, today=today, n_weeks=n_weeks),
        groups=groups,
        conflicts=[_conflict_row(canvas, c) for c in conflicts],
        now_left=canvas.pos(now) if t0 <= now < t1 else None,
        now_label=_fmt(now, tz),
        now=current,
        now_until=_fmt(current.shift_end, tz) if current.shift_end else "",
        now_primary_color=canvas.color_of(current.primary),
        now_secondary_color=canvas.color_of(current.secondary),
        last_date=end_date - dt.timedelta(days=1),
        legend=[(m.display_name, canvas.colors[m.pk]) for m in canvas.order],
        prev_start=(start_date - dt.timedelta(weeks=n_weeks)).isoformat(),
        next_start=end_date.isoformat(),
        today_start=(today - dt.timedelta(days=today.weekday())).isoformat(),
        week_choices=[1, 2, 4, 8, 12],
        tz_name=tz.key,
    )


def _midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return wall_to_utc(dt.datetime.combine(day, dt.time()), tz)


@dataclass(frozen=True)
class _Canvas:
    """The frame every bar and day is placed in: [t0, t1) in the team's zone, and
    one colour per member (alphabetical, so colours stay put from week to week)."""

    tz: ZoneInfo
    t0: dt.datetime
    t1: dt.datetime
    members: dict[int, Member]
    order: list[Member]
    colors: dict[int, str]

    @classmethod
    def of(
        cls,
        *,
        tz: ZoneInfo,
        t0: dt.datetime,
        t1: dt.datetime,
        members: dict[int, Member],
    ) -> _Canvas:
        order = sorted(members.values(), key=lambda m: (m.display_name.lower(), m.pk))
        colors = {m.pk: PALETTE[i % len(PALETTE)] for i, m in enumerate(order)}
        return cls(tz, t0, t1, members, order, colors)

    def pos(self, at: dt.datetime) -> float:
        """Percent of the width at which ``at`` falls (clamped to the frame)."""
        span = (self.t1 - self.t0).total_seconds()
        clamped = min(max(at, self.t0), self.t1)
        return round(100 * (clamped - self.t0).total_seconds() / span, 4)

    def color_of(self, member: Member | None) -> str:
        return self.colors.get(member.pk, "") if member is not None else ""


@dataclass(frozen=True)
class _Stint:
    """Consecutive segments one member holds a role in, the same way (by override
    or not): drawn as one bar."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    member_id: int
    by_override: bool
    holder: Holder


def _stints(segments: list[Segment], role: str) -> list[_Stint]:
    out: list[_Stint] = []
    for seg in segments:
        holder = getattr(seg.resolution, role)
        if holder is None:
            continue
        key = (holder.member_id, holder.override is not None)
        last = out[-1] if out else None
        if (
            last is not None
            and last.ends_at == seg.starts_at
            and (last.member_id, last.by_override) == key
        ):
            out[-1] = replace(last, ends_at=seg.ends_at)
        else:
            out.append(_Stint(seg.starts_at, seg.ends_at, *key, holder))
    return out


def _bars(
    canvas: _Canvas,
    segments: list[Segment],
    role: str,
    rotation_names: dict[int, str],
) -> list[Bar]:
    """One lane's bars.  ``rotation_names``: given when the lane mixes rotations,
    so each bar's tooltip says which one it comes from."""
    out: list[Bar] = []
    for stint in _stints(segments, role):
        a, b = stint.starts_at, stint.ends_at
        member = canvas.members.get(stint.member_id)
        name = member.display_name if member else f"member {stint.member_id}"
        out.append(
            Bar(
                left=canvas.pos(a),
                width=max(canvas.pos(b) - canvas.pos(a), 0.05),
                label=name,
                color=canvas.colors.get(stint.member_id, PALETTE[-1]),
                title=_bar_title(canvas, stint, name, role, rotation_names),
                override=stint.by_override,
                clipped_left=a < canvas.t0,
                clipped_right=b > canvas.t1,
            )
        )
    return out


def _bar_title(
    canvas: _Canvas,
    stint: _Stint,
    name: str,
    role: str,
    rotation_names: dict[int, str],
) -> str:
    a, b = stint.starts_at, stint.ends_at
    lines = [
        f"{name} — {role}",
        f"{_fmt(a, canvas.tz)} → {_fmt(b, canvas.tz)} ({_hours(a, b)})",
    ]
    if len(rotation_names) > 1:
        lines.append(f"from {rotation_names.get(stint.holder.rotation_id, '?')}")
    if stint.holder.override is not None:
        why = getattr(stint.holder.override, "reason", "") or "no reason given"
        lines.append(f"override: {why}")
    return "\n".join(lines)


def _mark(canvas: _Canvas, effective: LaneGroup, conflicts: list[Conflict]) -> None:
    """Conflict marks on the "On call" group's lanes (primary, secondary)."""
    lanes = dict(zip((PRIMARY, SECONDARY), effective.lanes, strict=False))
    for c in conflicts:
        lane = lanes.get(c.role)
        if lane is None:
            continue
        a, b = c.starts_at, c.ends_at
        lane.marks.append(
            Mark(
                left=canvas.pos(a),
                width=max(canvas.pos(b) - canvas.pos(a), 0.6),
                title=(
                    f"Conflict: {c.member.display_name} is {c.label}\n"
                    f"{_fmt(a, canvas.tz)} → {_fmt(b, canvas.tz)}"
                ),
            )
        )


def _conflict_row(canvas: _Canvas, c: Conflict) -> ConflictRow:
    return ConflictRow(
        key=c.key,
        who=c.member.display_name,
        role=c.role,
        rotation=c.rotation.name,
        when=f"{_fmt(c.starts_at, canvas.tz)} → {_fmt(c.ends_at, canvas.tz)}",
        reasons=c.label,
        covers=[
            CoverChoice(s.member.pk, s.member.display_name, f"{s.covered_hours:g} h")
            for s in c.suggestions
        ],
    )


def _groups(canvas: _Canvas, schedule: TeamSchedule) -> list[LaneGroup]:
    """The "On call" group (what pages go by) first, then one per rotation."""
    if not schedule.rotations:
        return []
    names = {r.pk: r.name for r in schedule.rotations}
    groups = [
        LaneGroup(
            title="On call",
            detail="what pages go by: layers and overrides applied",
            lanes=[
                Lane("Primary", "", _bars(canvas, schedule.effective, PRIMARY, names)),
                Lane(
                    "Secondary",
                    "",
                    _bars(canvas, schedule.effective, SECONDARY, names),
                ),
            ],
        )
    ]
    for rotation in schedule.rotations:
        segments = schedule.per_rotation.get(rotation.pk, [])
        groups.append(
            LaneGroup(
                title=rotation.name,
                detail=_describe(rotation),
                lanes=[
                    Lane(role.title(), "", _bars(canvas, segments, role, {}))
                    for role in rotation.roles
                ],
                url=reverse("admin:scheduling_rotation_change", args=[rotation.pk]),
            )
        )
    return groups


def _days(
    canvas: _Canvas,
    start_date: dt.date,
    end_date: dt.date,
    *,
    today: dt.date,
    n_weeks: int,
) -> list[Day]:
    """The day columns; a DST day is as wide as it is long."""
    days = []
    day = start_date
    while day < end_date:
        a = _midnight(day, canvas.tz)
        b = _midnight(day + dt.timedelta(days=1), canvas.tz)
        days.append(
            Day(
                left=canvas.pos(a),
                width=canvas.pos(b) - canvas.pos(a),
                # Month names fit only when days are wide enough.
                label=(
                    f"{day.day} {day:%b}"
                    if n_weeks <= 2 and (day.day == 1 or day == start_date)
                    else f"{day.day}"
                ),
                weekday=f"{day:%a}",
                weekend=day.weekday() >= 5,
                today=day == today,
                month_start=day.day == 1,
            )
        )
        day += dt.timedelta(days=1)
    return days


def _describe(rotation: Rotation) -> str:
    unit = (
        rotation.shift_unit if rotation.shift_length != 1 else rotation.shift_unit[:-1]
    )
    parts = [
        rotation.get_scheme_display().split(" (")[0],
        f"{rotation.shift_length} {unit}",
        f"handoff {rotation.handoff_time:%H:%M} {rotation.tz.key}",
        f"layer {rotation.layer}",
    ]
    restriction = rotation.restriction
    if restriction is not None:
        days = "".join("MTWTFSS"[d] for d in sorted(restriction.weekdays))
        parts.append(f"only {days} {restriction.start:%H:%M}–{restriction.end:%H:%M}")
    if not rotation.active:
        parts.append("inactive")
    return " · ".join(parts)
