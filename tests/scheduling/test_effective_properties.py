"""Properties of the effective schedule: overrides and layers on top of shifts."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.effective import resolve, team_timeline
from scheduling.plan import PRIMARY, PRIMARY_ONLY, SECONDARY, roles_of
from tests.scheduling.test_plan_properties import plan_and_range

OUTSIDERS = (901, 902, 903)


@dataclass
class Row:
    rotation_id: int
    role: str
    member_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    id: int | None = None
    reason: str = ""


def rows_of(p, start, end, rotation_id=1) -> list[Row]:
    shifts, _ = p.shifts(start, end)
    return [
        Row(rotation_id, s.role, s.member_id, s.starts_at, min(s.ends_at, end))
        for s in shifts
        if s.starts_at < end
    ]


@st.composite
def overrides_for(draw, p, start, end, rotation_id=1):
    span = (end - start).total_seconds()
    people = list(p.participants) + list(OUTSIDERS)
    out = []
    for i in range(draw(st.integers(0, 6))):
        a = draw(st.floats(-0.1, 1.0)) * span
        length = draw(st.floats(0.001, 0.6)) * span
        out.append(
            Row(
                rotation_id,
                draw(st.sampled_from(roles_of(p.scheme))),
                draw(st.sampled_from(people)),
                start + dt.timedelta(seconds=a),
                start + dt.timedelta(seconds=a + length),
                id=i + 1,
            )
        )
    return out


def union(intervals) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[list[dt.datetime]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [tuple(m) for m in merged]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_overrides_change_who_never_coverage(data):
    p, start, end = data.draw(plan_and_range())
    shifts = rows_of(p, start, end)
    overrides = data.draw(overrides_for(p, start, end))
    timeline = team_timeline([1], shifts, overrides, start, end)
    assert union((s.starts_at, s.ends_at) for s in timeline) == union(
        (max(s.starts_at, start), s.ends_at) for s in shifts
    )
    for seg in timeline:
        res = seg.resolution
        assert res.primary is not None
        if p.scheme == PRIMARY_ONLY:
            assert res.secondary is None
        else:
            assert res.secondary is not None
            assert res.primary.member_id != res.secondary.member_id


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_without_overrides_the_schedule_is_the_shifts(data):
    """Removing every override restores exactly the generated assignment."""
    p, start, end = data.draw(plan_and_range())
    shifts = rows_of(p, start, end)
    overrides = data.draw(overrides_for(p, start, end))
    with_overrides = team_timeline([1], shifts, overrides, start, end)
    plain = team_timeline([1], shifts, [], start, end)
    for seg in plain:
        for role in roles_of(p.scheme):
            holder = getattr(seg.resolution, role)
            base = [
                s
                for s in shifts
                if s.role == role and s.starts_at <= seg.starts_at < s.ends_at
            ]
            assert [holder.member_id] == [b.member_id for b in base]
            assert holder.override is None
    # Where no override covers, overrides changed nothing.
    for seg in with_overrides:
        touched = any(
            o.starts_at < seg.ends_at and o.ends_at > seg.starts_at for o in overrides
        )
        if not touched:
            assert not seg.resolution.override


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_the_latest_override_wins_where_it_applies_cleanly(data):
    p, start, end = data.draw(plan_and_range())
    shifts = rows_of(p, start, end)
    overrides = data.draw(overrides_for(p, start, end))
    for seg in team_timeline([1], shifts, overrides, start, end):
        holder = seg.resolution.primary
        covering = [
            o
            for o in overrides
            if o.role == PRIMARY and o.starts_at <= seg.starts_at < o.ends_at
        ]
        if covering:
            assert holder.member_id == max(covering, key=lambda o: o.id).member_id


class Covering:
    """Rows covering an instant, by binary search per role: rows of one role never
    overlap, so at most one per role covers it.  (A list comprehension per
    segment was segments x rows: minutes for an hourly layer over a weekly one.)"""

    def __init__(self, rows: list[Row]) -> None:
        self.by_role: dict[str, list[Row]] = {}
        for row in sorted(rows, key=lambda r: r.starts_at):
            self.by_role.setdefault(row.role, []).append(row)
        self.starts = {r: [x.starts_at for x in v] for r, v in self.by_role.items()}

    def at(self, at: dt.datetime, role: str | None = None) -> list[Row]:
        found = []
        for name, rows in self.by_role.items():
            if role not in (None, name):
                continue
            i = bisect.bisect_right(self.starts[name], at) - 1
            if i >= 0 and rows[i].starts_at <= at < rows[i].ends_at:
                found.append(rows[i])
        return found


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_higher_layer_wins_and_coverage_is_the_union(data):
    p_low, start, end = data.draw(plan_and_range())
    p_high, _, _ = data.draw(plan_and_range(restricted=True))
    low = rows_of(p_low, start, end, rotation_id=1)
    high = rows_of(p_high, start, end, rotation_id=2)
    timeline = team_timeline([2, 1], low + high, [], start, end)
    assert union((s.starts_at, s.ends_at) for s in timeline) == union(
        (max(s.starts_at, start), s.ends_at) for s in low + high
    )
    high_covering, low_covering = Covering(high), Covering(low)
    for seg in timeline:
        at = seg.starts_at
        high_here = high_covering.at(at)
        res = seg.resolution
        assert res.primary.rotation_id == (2 if high_here else 1)
        if res.secondary is not None:
            assert res.secondary.member_id != res.primary.member_id
        lower_secondary = low_covering.at(at, SECONDARY)
        if (
            high_here
            and p_high.scheme == PRIMARY_ONLY
            and lower_secondary
            and lower_secondary[0].member_id != res.primary.member_id
        ):
            # A primary-only layer on top keeps the secondary of the layer below.
            assert res.secondary.rotation_id == 1


def test_a_roster_change_under_an_override_never_doubles_a_person():
    at = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
    later = at + dt.timedelta(days=1)
    shifts = [Row(1, PRIMARY, 1, at, later), Row(1, SECONDARY, 2, at, later)]
    # Someone overrode primary with bob (2) -- valid when bob was not secondary.
    res = resolve([1], shifts, [Row(1, PRIMARY, 2, at, later, id=1)])
    assert (res.primary.member_id, res.secondary.member_id) == (2, 1)
    assert res.secondary.override is not None  # alice stepping down is the override
