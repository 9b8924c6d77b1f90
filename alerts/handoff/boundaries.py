"""Shift changes: where a role of a rotation passes from one member to another.

Read from :func:`scheduling.selectors.team_schedule` (overrides applied, per
rotation), the one effective-schedule resolver: an override that hands the pager
to someone mid-shift is a boundary too, and a rotation's gap is not one (nobody
hands anything to anybody).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from scheduling.effective import Segment
from scheduling.models import Member, Rotation, Team
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_schedule

# How far around a boundary the schedule is read to find where the outgoing shift
# began and the incoming one ends.  Longer shifts are cut at this bound.
SHIFT_HORIZON = dt.timedelta(days=15)


@dataclass(frozen=True)
class Boundary:
    rotation: Rotation
    role: str  # primary or secondary
    at: dt.datetime
    outgoing: Member
    incoming: Member
    shift_start: dt.datetime  # when the outgoing member's stint in the role began
    next_shift_end: dt.datetime  # when the incoming member's stint ends


def _holder(segment: Segment, role: str) -> int | None:
    holder = getattr(segment.resolution, role)
    return None if holder is None else holder.member_id


def _stint(segments: Sequence[Segment], i: int, role: str, step: int) -> dt.datetime:
    """From segment ``i``, walk (back with ``step=-1``, forward with ``+1``) over
    touching segments held by the same member; the far end of the run."""
    member = _holder(segments[i], role)
    j = i
    while 0 <= j + step < len(segments):
        nxt = segments[j + step]
        touching = (
            nxt.ends_at == segments[j].starts_at
            if step < 0
            else nxt.starts_at == segments[j].ends_at
        )
        if not touching or _holder(nxt, role) != member:
            break
        j += step
    return segments[j].starts_at if step < 0 else segments[j].ends_at


def boundaries_between(
    *, team: Team, start: dt.datetime, end: dt.datetime
) -> list[Boundary]:
    """Every shift change of every rotation of ``team`` in (start, end], per role,
    oldest first."""
    schedule = team_schedule(
        team=team, start=start - SHIFT_HORIZON, end=end + SHIFT_HORIZON
    )
    found: list[Boundary] = []
    for rotation in schedule.rotations:
        segments = schedule.per_rotation.get(rotation.pk, [])
        for i in range(1, len(segments)):
            before, after = segments[i - 1], segments[i]
            at = after.starts_at
            if before.ends_at != at or not (start < at <= end):
                continue
            for role in (PRIMARY, SECONDARY):
                out, inc = _holder(before, role), _holder(after, role)
                if out is None or inc is None or out == inc:
                    continue
                found.append(
                    Boundary(
                        rotation=rotation,
                        role=role,
                        at=at,
                        outgoing=schedule.members[out],
                        incoming=schedule.members[inc],
                        shift_start=_stint(segments, i - 1, role, -1),
                        next_shift_end=_stint(segments, i, role, +1),
                    )
                )
    found.sort(key=lambda b: (b.at, b.rotation.pk, b.role))
    return found
