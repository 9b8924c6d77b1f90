"""Conflicts: effective on-call time that overlaps the holder's unavailability,
or the holder's effective on-call time in another team (a double booking), each
with suggested covers.

Read from :func:`scheduling.selectors.team_schedule` (the one effective-schedule
resolver), so a conflict is about who is *really* on call: an override that
already moved the shift away leaves no conflict behind.

Double booking.  A member may be in several teams; on call in two at once, they
cannot answer both pages.  Each team's conflicts therefore also read the
member's effective shifts in their *other* teams (the same resolver, per team)
and flag the overlap as :data:`DOUBLE_BOOKED`, with the other team and role as
the reason; both teams show it.

A suggested cover for a conflict is a member of the conflicted rotation who, for
the whole conflict, holds no role of the team, holds none in any other team
either, and is not unavailable; the ones
who covered the fewest hours in the last :data:`FAIRNESS_WINDOW` come first
(ties by username).  :func:`conflict_cover` turns a suggestion into an override
through the overrides service, so every rule of overrides applies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from scheduling.effective import Segment
from scheduling.models import (
    Member,
    Override,
    Rotation,
    RotationParticipant,
    Team,
    Unavailability,
)
from scheduling.overrides import override_create
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import TeamSchedule, team_schedule
from scheduling.timeparse import check_range

FAIRNESS_WINDOW = dt.timedelta(days=90)
# A conflict is within one stint of one rotation; none is longer than this.
MAX_CONFLICT = dt.timedelta(days=400)
ROLES = (PRIMARY, SECONDARY)
# What a conflict is about.
UNAVAILABLE = "unavailable"
DOUBLE_BOOKED = "double_booked"
KINDS = (UNAVAILABLE, DOUBLE_BOOKED)


@dataclass(frozen=True)
class Suggestion:
    member: Member
    covered_hours: float  # in the FAIRNESS_WINDOW before the question was asked


@dataclass
class Conflict:
    member: Member
    role: str
    rotation: Rotation
    starts_at: dt.datetime
    ends_at: dt.datetime
    # The busy events' summaries; for a double booking, where else and as what.
    reasons: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    kind: str = UNAVAILABLE

    @property
    def label(self) -> str:
        """What the admin and the API say the conflict is."""
        if self.kind == DOUBLE_BOOKED:
            return f"double booked ({', '.join(self.reasons)})"
        return f"unavailable ({', '.join(self.reasons) or 'out of office'})"

    @property
    def key(self) -> str:
        """Names the conflict in a URL (the admin's one-click cover)."""
        return (
            f"{self.rotation.pk}:{self.role}:{self.member.pk}:"
            f"{int(self.starts_at.timestamp())}:{int(self.ends_at.timestamp())}"
        )


@dataclass(frozen=True)
class _Stint:
    member_id: int
    rotation_id: int
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def _stints(segments: Sequence[Segment]) -> list[_Stint]:
    """Per role, consecutive segments with the same holder from the same rotation."""
    stints: list[_Stint] = []
    for role in ROLES:
        current: _Stint | None = None
        for seg in segments:
            holder = getattr(seg.resolution, role)
            if holder is None:
                current = None
                continue
            if (
                current is not None
                and current.ends_at == seg.starts_at
                and (current.member_id, current.rotation_id)
                == (holder.member_id, holder.rotation_id)
            ):
                current = _Stint(
                    current.member_id,
                    current.rotation_id,
                    role,
                    current.starts_at,
                    seg.ends_at,
                )
                stints[-1] = current
            else:
                current = _Stint(
                    holder.member_id,
                    holder.rotation_id,
                    role,
                    seg.starts_at,
                    seg.ends_at,
                )
                stints.append(current)
    return stints


def _merged(
    rows: Iterable[Unavailability],
) -> list[tuple[dt.datetime, dt.datetime, list[str]]]:
    """A member's busy intervals, overlapping ones merged (rows in start order)."""
    merged: list[tuple[dt.datetime, dt.datetime, list[str]]] = []
    for row in sorted(rows, key=lambda r: r.starts_at):
        if merged and row.starts_at <= merged[-1][1]:
            a, b, reasons = merged[-1]
            if row.summary and row.summary not in reasons:
                reasons.append(row.summary)
            merged[-1] = (a, max(b, row.ends_at), reasons)
        else:
            merged.append(
                (row.starts_at, row.ends_at, [row.summary] if row.summary else [])
            )
    return merged


def _busy_by_member(
    member_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime, list[str]]]]:
    rows: dict[int, list[Unavailability]] = defaultdict(list)
    for row in Unavailability.objects.filter(
        member_id__in=set(member_ids), ends_at__gt=start, starts_at__lt=end
    ):
        rows[row.member_id].append(row)
    return {member_id: _merged(found) for member_id, found in rows.items()}


def _overlaps(
    spans: Sequence[tuple[dt.datetime, dt.datetime, Any]],
    start: dt.datetime,
    end: dt.datetime,
) -> bool:
    return any(a < end and b > start for a, b, *_ in spans)


Spans = dict[int, list[tuple[dt.datetime, dt.datetime, list[str]]]]


def oncall_elsewhere(
    *, team: Team, member_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> Spans:
    """Each member's effective on-call stretches in [start, end) in their teams
    other than ``team``, with where and as what ("on call for Checkout as
    primary"), in time order.  One :func:`team_schedule` per other team."""
    wanted = set(member_ids)
    spans: Spans = defaultdict(list)
    others = (
        Team.objects.filter(teammembership__member_id__in=wanted)
        .exclude(pk=team.pk)
        .distinct()
        .order_by("slug")
    )
    for other in others:
        schedule = team_schedule(team=other, start=start, end=end)
        for stint in _stints(schedule.effective):
            if stint.member_id in wanted:
                spans[stint.member_id].append(
                    (
                        stint.starts_at,
                        stint.ends_at,
                        [f"on call for {other.name} as {stint.role}"],
                    )
                )
    for found in spans.values():
        found.sort(key=lambda span: span[0])
    return dict(spans)


def covered_hours(
    *, team: Team, member_ids: Iterable[int], now: dt.datetime
) -> dict[int, float]:
    """Hours each member held a role of ``team`` (effectively: overrides and
    layers applied) in the :data:`FAIRNESS_WINDOW` before ``now``."""
    wanted = set(member_ids)
    hours = dict.fromkeys(wanted, 0.0)
    schedule = team_schedule(team=team, start=now - FAIRNESS_WINDOW, end=now)
    for seg in schedule.effective:
        length = (seg.ends_at - seg.starts_at).total_seconds() / 3600
        for holder in seg.resolution.roles():
            if holder is not None and holder.member_id in wanted:
                hours[holder.member_id] += length
    return hours


def _overlapping(
    stint: _Stint, spans: Sequence[tuple[dt.datetime, dt.datetime, list[str]]]
) -> list[tuple[dt.datetime, dt.datetime, list[str]]]:
    """The parts of ``stint`` that ``spans`` overlap, each with its reasons."""
    found = []
    for a, b, reasons in spans:
        lo, hi = max(a, stint.starts_at), min(b, stint.ends_at)
        if lo < hi:
            found.append((lo, hi, list(reasons)))
    return found


def team_conflicts(
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    schedule: TeamSchedule | None = None,
) -> list[Conflict]:
    """The conflicts of ``team`` in [start, end), in time order, with suggestions.
    ``schedule``: the team's schedule over exactly that range, if the caller has
    it already (the picture)."""
    if schedule is None:
        schedule = team_schedule(team=team, start=start, end=end)
    stints = _stints(schedule.effective)
    if not stints:
        return []
    rotations = {r.pk: r for r in schedule.rotations}
    participants: dict[int, list[int]] = defaultdict(list)
    for rotation_id, member_id in RotationParticipant.objects.filter(
        rotation_id__in=rotations, member__active=True
    ).values_list("rotation_id", "member_id"):
        participants[rotation_id].append(member_id)
    everyone = {s.member_id for s in stints} | {
        m for ids in participants.values() for m in ids
    }
    busy = _busy_by_member(everyone, start, end)
    members = {
        m.pk: m for m in Member.objects.filter(pk__in=everyone).select_related("user")
    }
    elsewhere = oncall_elsewhere(team=team, member_ids=everyone, start=start, end=end)
    found = [
        Conflict(
            members[stint.member_id],
            stint.role,
            rotations[stint.rotation_id],
            lo,
            hi,
            reasons,
            kind=kind,
        )
        for kind, spans in ((UNAVAILABLE, busy), (DOUBLE_BOOKED, elsewhere))
        for stint in stints
        for lo, hi, reasons in _overlapping(stint, spans.get(stint.member_id, []))
    ]
    found.sort(key=lambda c: (c.starts_at, ROLES.index(c.role), KINDS.index(c.kind)))
    if found:
        hours = covered_hours(team=team, member_ids=everyone, now=now)
        for conflict in found:
            conflict.suggestions = _suggest(
                conflict, stints, participants, busy, elsewhere, members, hours
            )
    return found


def _suggest(
    conflict: Conflict,
    stints: Sequence[_Stint],
    participants: dict[int, list[int]],
    busy: Spans,
    elsewhere: Spans,
    members: dict[int, Member],
    hours: dict[int, float],
) -> list[Suggestion]:
    on_call = {
        s.member_id
        for s in stints
        if s.starts_at < conflict.ends_at and s.ends_at > conflict.starts_at
    }
    free = [
        member_id
        for member_id in participants.get(conflict.rotation.pk, [])
        if member_id not in on_call
        and not _overlaps(busy.get(member_id, []), conflict.starts_at, conflict.ends_at)
        and not _overlaps(
            elsewhere.get(member_id, []), conflict.starts_at, conflict.ends_at
        )
    ]
    free.sort(key=lambda m: (hours.get(m, 0.0), members[m].username))
    return [Suggestion(members[m], round(hours.get(m, 0.0), 2)) for m in free]


def conflict_cover(
    *,
    team: Team,
    key: str,
    cover: Member,
    now: dt.datetime,
    created_by: Any = None,
) -> Override:
    """Make the suggestion ``cover`` for the conflict named ``key`` an override.

    The conflict is looked up again (it must still exist, and ``cover`` must
    still be a suggestion), then the overrides service validates and writes it.
    ``ValidationError`` otherwise.
    """
    try:
        rotation_id, role, member_id, start_ts, end_ts = key.split(":")
        starts_at = check_range(dt.datetime.fromtimestamp(int(start_ts), tz=dt.UTC))
        ends_at = check_range(dt.datetime.fromtimestamp(int(end_ts), tz=dt.UTC))
        if ends_at <= starts_at or ends_at - starts_at > MAX_CONFLICT:
            raise ValueError("not a conflict's bounds")
    except (ValueError, OverflowError, OSError):
        raise ValidationError("That conflict is not known.") from None
    conflict = next(
        (
            c
            for c in team_conflicts(team=team, start=starts_at, end=ends_at, now=now)
            if c.key == key
        ),
        None,
    )
    if conflict is None:
        raise ValidationError(
            "That conflict is gone (the schedule or the member's time off changed)."
        )
    if cover.pk not in {s.member.pk for s in conflict.suggestions}:
        raise ValidationError(f"{cover} is not free to cover this conflict.")
    if conflict.kind == DOUBLE_BOOKED:
        reason = f"{conflict.member} {conflict.label}"
    else:
        reason = f"{conflict.member} unavailable"
        if conflict.reasons:
            reason += f": {', '.join(conflict.reasons)}"
    return override_create(
        rotation=conflict.rotation,
        role=conflict.role,
        member=cover,
        starts_at=conflict.starts_at,
        ends_at=conflict.ends_at,
        reason=reason[:300],
        created_by=created_by,
    )


def unavailable_during(
    spans: Sequence[tuple[int, dt.datetime, dt.datetime]],
) -> list[list[str]]:
    """For each (member id, start, end), why the member is unavailable in it:
    the busy events' summaries ("out of office" for one without), or an empty
    list when they are free.  For previews of shifts not yet made (a rotation
    preview), where there is no effective schedule to read conflicts from."""
    if not spans:
        return []
    start = min(a for _, a, _ in spans)
    end = max(b for _, _, b in spans)
    busy = _busy_by_member({m for m, _, _ in spans}, start, end)
    found: list[list[str]] = []
    for member_id, a, b in spans:
        reasons: list[str] = []
        for lo, hi, why in busy.get(member_id, []):
            if lo < b and hi > a:
                reasons += why or ["out of office"]
        found.append(list(dict.fromkeys(reasons)))
    return found


def double_booked_during(
    *, team: Team, spans: Sequence[tuple[int, dt.datetime, dt.datetime]]
) -> list[list[str]]:
    """For each (member id, start, end) of ``team``'s previewed shifts, where
    else the member is effectively on call in it ("on call for Checkout as
    primary"), or an empty list: the :data:`DOUBLE_BOOKED` conflicts
    :func:`team_conflicts` would find once the shifts exist, read the same way
    (:func:`oncall_elsewhere`, one resolver per other team)."""
    if not spans:
        return []
    start = min(a for _, a, _ in spans)
    end = max(b for _, _, b in spans)
    elsewhere = oncall_elsewhere(
        team=team, member_ids={m for m, _, _ in spans}, start=start, end=end
    )
    found: list[list[str]] = []
    for member_id, a, b in spans:
        reasons: list[str] = []
        for lo, hi, why in elsewhere.get(member_id, []):
            if lo < b and hi > a:
                reasons += why
        found.append(list(dict.fromkeys(reasons)))
    return found
