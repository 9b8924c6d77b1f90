"""The effective schedule: shifts, then overrides, then layers.  Pure functions.

Both the single-instant answer (:func:`scheduling.selectors.oncall_at`) and the
timelines (admin picture, override validation, next shift, reports) go through
:func:`resolve`, so they can never disagree.

Rules, per instant:

1. Per rotation and role, the holder is the shift's member unless an override of that
   rotation and role covers the instant; of several, the latest created wins.  An
   override only changes *who*: where the rotation has no shift for the role, the
   override does nothing (overrides never create or remove coverage).
2. Primary and secondary are never the same person.  Overrides are validated against
   that when created, but a roster change can regenerate shifts under an existing
   override; then the override on primary stands and the secondary goes to whichever
   of the rotation's own two holders is not the primary (the override becomes a swap).
3. Layers: the primary comes from the highest-layer rotation covering the instant
   (ties: the older rotation).  The secondary comes from the highest-layer rotation
   that has a secondary different from that primary, so a primary-only layer on top
   keeps the secondary of the layer below; if every such secondary is the primary
   themself, the primary of a lower layer (displaced by the top one) is secondary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scheduling.plan import PRIMARY, SECONDARY


class Interval(Protocol):
    rotation_id: int
    role: str
    member_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class Holder:
    member_id: int
    rotation_id: int
    shift: Any  # the covering shift row (model instance or PlannedShift)
    override: Any | None  # the applied override, if any


@dataclass(frozen=True)
class Resolution:
    primary: Holder | None
    secondary: Holder | None

    @property
    def override(self) -> bool:
        return any(h is not None and h.override is not None for h in self.roles())

    def roles(self) -> tuple[Holder | None, Holder | None]:
        return (self.primary, self.secondary)

    def key(self) -> tuple:
        """What a reader sees: who, and whether by override (for merging)."""
        return tuple(
            None if h is None else (h.member_id, h.rotation_id, _ov_id(h.override))
            for h in self.roles()
        )


def _ov_id(override: Any | None) -> Any:
    if override is None:
        return None
    return override.id if override.id is not None else id(override)


def _latest(overrides: Iterable[Any]) -> Any | None:
    # Unsaved overrides (being validated) count as the newest.
    best = None
    for ov in overrides:
        if best is None or _created_key(ov) > _created_key(best):
            best = ov
    return best


def _created_key(ov: Any) -> tuple[int, int]:
    return (1, 0) if ov.id is None else (0, ov.id)


def resolve_rotation(
    rotation_id: int, shifts: Iterable[Any], overrides: Iterable[Any]
) -> dict[str, Holder]:
    """Who holds each role of one rotation, given what covers one instant."""
    base = {s.role: s for s in shifts}
    by_role: dict[str, list[Any]] = {}
    for ov in overrides:
        by_role.setdefault(ov.role, []).append(ov)
    held: dict[str, Holder] = {}
    for role, shift in base.items():
        ov = _latest(by_role.get(role, ()))
        member_id = ov.member_id if ov is not None else shift.member_id
        held[role] = Holder(member_id, rotation_id, shift, ov)
    primary, secondary = held.get(PRIMARY), held.get(SECONDARY)
    if primary and secondary and primary.member_id == secondary.member_id:
        candidates = [base[SECONDARY].member_id, base[PRIMARY].member_id]
        other = next((m for m in candidates if m != primary.member_id), None)
        if other is None:
            del held[SECONDARY]
        else:
            # Back to the rotation's own secondary: no override applies.  Or the
            # relieved primary steps down: a consequence of the primary's override.
            ov = None if other == base[SECONDARY].member_id else primary.override
            held[SECONDARY] = Holder(other, rotation_id, base[SECONDARY], ov)
    return held


def resolve(
    precedence: Sequence[int], shifts: Iterable[Any], overrides: Iterable[Any]
) -> Resolution:
    """The team's answer at one instant.

    ``precedence``: rotation ids, highest layer first.  ``shifts``/``overrides``: the
    rows covering the instant (any rotation of the team).
    """
    shifts_by_rot: dict[int, list[Any]] = {}
    for s in shifts:
        shifts_by_rot.setdefault(s.rotation_id, []).append(s)
    ovs_by_rot: dict[int, list[Any]] = {}
    for ov in overrides:
        ovs_by_rot.setdefault(ov.rotation_id, []).append(ov)
    primary: Holder | None = None
    per_rotation: list[dict[str, Holder]] = []
    for rotation_id in precedence:
        if rotation_id not in shifts_by_rot:
            continue
        held = resolve_rotation(
            rotation_id, shifts_by_rot[rotation_id], ovs_by_rot.get(rotation_id, ())
        )
        per_rotation.append(held)
        if primary is None:
            primary = held.get(PRIMARY)
    # Secondaries by layer first; failing those, a lower layer's primary whom the
    # top layer displaced (free, and the natural backup) -- never the primary.
    candidates = [held.get(SECONDARY) for held in per_rotation] + [
        held.get(PRIMARY) for held in per_rotation[1:]
    ]
    secondary = next(
        (
            c
            for c in candidates
            if c is not None and (primary is None or c.member_id != primary.member_id)
        ),
        None,
    )
    return Resolution(primary, secondary)


@dataclass(frozen=True)
class Segment:
    starts_at: dt.datetime
    ends_at: dt.datetime
    resolution: Resolution


def sweep(
    start: dt.datetime,
    end: dt.datetime,
    shifts: Sequence[Any],
    overrides: Sequence[Any],
) -> Iterable[tuple[dt.datetime, dt.datetime, list[Any], list[Any]]]:
    """Elementary intervals of [start, end) with what covers each."""
    items = [(s, True) for s in shifts if s.ends_at > start and s.starts_at < end] + [
        (o, False) for o in overrides if o.ends_at > start and o.starts_at < end
    ]
    points = {start, end}
    for item, _ in items:
        points.add(max(item.starts_at, start))
        points.add(min(item.ends_at, end))
    bounds = sorted(points)
    items.sort(key=lambda pair: pair[0].starts_at)
    active: list[tuple[Any, bool]] = []
    i = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        while i < len(items) and items[i][0].starts_at <= a:
            active.append(items[i])
            i += 1
        active = [pair for pair in active if pair[0].ends_at > a]
        yield (
            a,
            b,
            [x for x, is_shift in active if is_shift],
            [x for x, is_shift in active if not is_shift],
        )


def team_timeline(
    precedence: Sequence[int],
    shifts: Sequence[Any],
    overrides: Sequence[Any],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Segment]:
    """The team's effective schedule over [start, end), adjacent equal answers
    merged.  Intervals with no coverage are left out."""
    segments: list[Segment] = []
    for a, b, covering, ovs in sweep(start, end, shifts, overrides):
        if not covering:
            continue
        res = resolve(precedence, covering, ovs)
        if (
            segments
            and segments[-1].ends_at == a
            and segments[-1].resolution.key() == res.key()
        ):
            segments[-1] = Segment(segments[-1].starts_at, b, segments[-1].resolution)
        else:
            segments.append(Segment(a, b, res))
    return segments


def rotation_timeline(
    rotation_id: int,
    shifts: Sequence[Any],
    overrides: Sequence[Any],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Segment]:
    """One rotation's effective schedule (overrides applied, no layering)."""
    return team_timeline(
        [rotation_id],
        [s for s in shifts if s.rotation_id == rotation_id],
        [o for o in overrides if o.rotation_id == rotation_id],
        start,
        end,
    )
