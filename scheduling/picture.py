"""The schedule picture: a team's coming weeks laid out as lanes of bars.

Computes geometry only (percent offsets and widths, labels, colours); the template
``admin/scheduling/team/schedule.html`` draws it with plain HTML and CSS, so there is
no JavaScript and nothing to build.  The horizontal axis is real time in the team's
zone: a 25-hour DST day is drawn 25 hours wide, as it is lived.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from scheduling.effective import Segment
from scheduling.models import Member, Rotation, Team
from scheduling.plan import PRIMARY, SECONDARY, wall_to_utc
from scheduling.selectors import OnCallAt, oncall_at, team_schedule

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
class Lane:
    label: str
    sublabel: str
    bars: list[Bar] = field(default_factory=list)


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


def _parse_start(raw: str | None, today: dt.date) -> dt.date:
    monday = today - dt.timedelta(days=today.weekday())
    if not raw:
        return monday
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return monday


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
    tz = team.tz
    today = now.astimezone(tz).date()
    start_date = _parse_start(start, today)
    n_weeks = _parse_weeks(weeks)
    end_date = start_date + dt.timedelta(weeks=n_weeks)
    t0 = wall_to_utc(dt.datetime.combine(start_date, dt.time()), tz)
    t1 = wall_to_utc(dt.datetime.combine(end_date, dt.time()), tz)
    span = (t1 - t0).total_seconds()

    def pos(at: dt.datetime) -> float:
        return round(100 * (min(max(at, t0), t1) - t0).total_seconds() / span, 4)

    schedule = team_schedule(team=team, start=t0, end=t1)
    members = schedule.members
    order = sorted(members.values(), key=lambda m: (m.display_name.lower(), m.pk))
    colors = {m.pk: PALETTE[i % len(PALETTE)] for i, m in enumerate(order)}

    def bars(
        segments: list[Segment], role: str, rotation_names: dict[int, str]
    ) -> list[Bar]:
        out: list[Bar] = []
        merged: list[tuple[dt.datetime, dt.datetime, Any]] = []
        for seg in segments:
            holder = getattr(seg.resolution, role)
            if holder is None:
                continue
            key = (holder.member_id, holder.override is not None)
            if merged and merged[-1][1] == seg.starts_at and merged[-1][2][0] == key:
                merged[-1] = (merged[-1][0], seg.ends_at, merged[-1][2])
            else:
                merged.append((seg.starts_at, seg.ends_at, (key, holder)))
        for a, b, (key, holder) in merged:
            member: Member | None = members.get(key[0])
            name = member.display_name if member else f"member {key[0]}"
            lines = [
                f"{name} — {role}",
                f"{_fmt(a, tz)} → {_fmt(b, tz)} ({_hours(a, b)})",
            ]
            if len(rotation_names) > 1:
                lines.append(f"from {rotation_names.get(holder.rotation_id, '?')}")
            if holder.override is not None:
                why = getattr(holder.override, "reason", "") or "no reason given"
                lines.append(f"override: {why}")
            out.append(
                Bar(
                    left=pos(a),
                    width=max(pos(b) - pos(a), 0.05),
                    label=name,
                    color=colors.get(key[0], PALETTE[-1]),
                    title="\n".join(lines),
                    override=key[1],
                    clipped_left=a < t0,
                    clipped_right=b > t1,
                )
            )
        return out

    names = {r.pk: r.name for r in schedule.rotations}
    groups = (
        []
        if not schedule.rotations
        else [
            LaneGroup(
                title="On call",
                detail="what pages go by: layers and overrides applied",
                lanes=[
                    Lane("Primary", "", bars(schedule.effective, PRIMARY, names)),
                    Lane("Secondary", "", bars(schedule.effective, SECONDARY, names)),
                ],
            )
        ]
    )
    for rotation in schedule.rotations:
        segments = schedule.per_rotation.get(rotation.pk, [])
        groups.append(
            LaneGroup(
                title=rotation.name,
                detail=_describe(rotation),
                lanes=[
                    Lane(role.title(), "", bars(segments, role, {}))
                    for role in rotation.roles
                ],
                url=reverse("admin:scheduling_rotation_change", args=[rotation.pk]),
            )
        )

    days = []
    day = start_date
    while day < end_date:
        a = wall_to_utc(dt.datetime.combine(day, dt.time()), tz)
        b = wall_to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
        days.append(
            Day(
                left=pos(a),
                width=pos(b) - pos(a),
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

    legend = [(m.display_name, colors[m.pk]) for m in order]
    now_left = pos(now) if t0 <= now < t1 else None
    current = oncall_at(team=team, at=now)
    return Picture(
        team=team,
        start=t0,
        end=t1,
        start_date=start_date,
        weeks=n_weeks,
        days=days,
        groups=groups,
        now_left=now_left,
        now_label=_fmt(now, tz),
        now=current,
        now_until=_fmt(current.shift_end, tz) if current.shift_end else "",
        now_primary_color=colors.get(current.primary.pk, "") if current.primary else "",
        now_secondary_color=(
            colors.get(current.secondary.pk, "") if current.secondary else ""
        ),
        last_date=end_date - dt.timedelta(days=1),
        legend=legend,
        prev_start=(start_date - dt.timedelta(weeks=n_weeks)).isoformat(),
        next_start=end_date.isoformat(),
        today_start=(today - dt.timedelta(days=today.weekday())).isoformat(),
        week_choices=[1, 2, 4, 8, 12],
        tz_name=tz.key,
    )


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
