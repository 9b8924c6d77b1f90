"""Properties of the pure schedule generator over many IANA zones.

Zones are chosen for what tends to break schedulers: DST north and south, 30- and
45-minute offsets, a 30-minute DST shift (Lord Howe), a 2-hour one (Troll), DST at
midnight (Havana), "negative" DST (Dublin), a skipped calendar day (Apia, 2011),
and zones whose rules changed (Moscow, Sao Paulo, Tehran, Casablanca).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling import plan
from scheduling.plan import (
    FOLLOW,
    PAIRED,
    PRIMARY,
    PRIMARY_ONLY,
    SECONDARY,
    Restriction,
    RotationPlan,
    wall_to_utc,
)

ZONES = [
    "UTC",
    "Africa/Nairobi",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Dublin",
    "Europe/Moscow",
    "America/New_York",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Antarctica/Troll",
]
UTC = dt.UTC


def wall(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """A local wall-clock time: naive on purpose."""
    return dt.datetime.combine(dt.date(y, m, d), dt.time(h, mi))


MAX_SLOTS = 300


@st.composite
def plans(draw, restricted: bool = False) -> RotationPlan:
    scheme = draw(st.sampled_from([PAIRED, FOLLOW, PRIMARY_ONLY]))
    if scheme == PAIRED:
        n = 2 * draw(st.integers(1, 4))
    elif scheme == FOLLOW:
        n = draw(st.integers(2, 7))
    else:
        n = draw(st.integers(1, 7))
    unit = draw(st.sampled_from([plan.WEEKS, plan.DAYS, plan.HOURS]))
    length = {
        plan.WEEKS: st.integers(1, 2),
        plan.DAYS: st.integers(1, 3),
        plan.HOURS: st.sampled_from([1, 3, 8, 12, 24, 36]),
    }[unit]
    day = draw(st.dates(dt.date(2005, 1, 1), dt.date(2035, 12, 31)))
    handoff = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    restriction = None
    if restricted:
        start = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
        end = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
        if end == start:
            end = dt.time((start.hour + 8) % 24, start.minute)
        days = draw(st.sets(st.integers(0, 6), min_size=1))
        restriction = Restriction(frozenset(days), start, end)
    return RotationPlan(
        scheme=scheme,
        participants=tuple(range(101, 101 + n)),
        anchor=dt.datetime.combine(day, handoff),
        step=plan.step_of(draw(length), unit),
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        restriction=restriction,
    )


@st.composite
def plan_and_range(draw, restricted: bool = False):
    p = draw(plans(restricted))
    offset_slots = draw(st.floats(0, 200))
    start = p.starts_at + offset_slots * p.step
    length = draw(st.floats(0.1, MAX_SLOTS / 2)) * p.step
    return p, start, start + length


def _by_role(shifts, role):
    return sorted((s for s in shifts if s.role == role), key=lambda s: s.starts_at)


def _is_transition(at: dt.datetime, tz: ZoneInfo) -> bool:
    before = (at - dt.timedelta(seconds=1)).astimezone(tz).utcoffset()
    return before != at.astimezone(tz).utcoffset()


def _exists(wall: dt.datetime, tz: ZoneInfo) -> bool:
    back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall


@settings(max_examples=150, deadline=None)
@given(plan_and_range())
def test_shifts_tile_time_with_exactly_one_holder_per_role(args):
    check_tiling(*args)


def check_tiling(p, start, end):
    shifts, last_end = p.shifts(start, end)
    assert shifts, "a range of at least a tenth of a shift has shifts"
    for role in plan.roles_of(p.scheme):
        mine = _by_role(shifts, role)
        assert mine[0].starts_at == max(start, p.starts_at)
        for a, b in zip(mine, mine[1:], strict=False):
            assert a.ends_at == b.starts_at, "no gap and no overlap"
            assert a.starts_at < a.ends_at
        assert mine[-1].ends_at == last_end >= end
    if p.scheme != PRIMARY_ONLY:
        pairs = Counter((s.slot, s.starts_at) for s in shifts)
        assert set(pairs.values()) == {2}, "each shift has a primary and a secondary"
        holders: dict = {}
        for s in shifts:
            holders.setdefault(s.slot, {})[s.role] = s.member_id
        assert all(h[PRIMARY] != h[SECONDARY] for h in holders.values())


@settings(max_examples=150, deadline=None)
@given(plan_and_range())
def test_handoffs_happen_at_the_local_wall_clock_time(args):
    check_handoffs(*args)


def check_handoffs(p, start, end):
    shifts, _ = p.shifts(start, end)
    for s in _by_role(shifts, PRIMARY):
        if s.starts_at == start:
            continue  # clipped at the range start, not a handoff
        wall = p.anchor + s.slot * p.step
        local = s.starts_at.astimezone(p.tz)
        if _exists(wall, p.tz):
            # At the configured time, on the configured day; the first occurrence
            # when the time happens twice.
            assert local.replace(tzinfo=None) == wall
            assert local.fold == 0 or not _exists(wall, p.tz)
        else:
            # Inside a spring-forward gap: right when the gap ends.
            assert _is_transition(s.starts_at, p.tz)
            assert local.replace(tzinfo=None) > wall


@settings(max_examples=150, deadline=None)
@given(plan_and_range())
def test_a_shift_lasts_its_wall_clock_length_minus_the_offset_change(args):
    """On DST days a daily shift is 23 or 25 hours, a weekly one 167 or 169."""
    check_durations(*args)


def check_durations(p, start, end):
    shifts, _ = p.shifts(start, end)
    for s in _by_role(shifts, PRIMARY):
        if s.starts_at == start:
            continue
        a_wall = p.anchor + s.slot * p.step
        b_wall = a_wall + p.step
        if not (_exists(a_wall, p.tz) and _exists(b_wall, p.tz)):
            continue
        offset_change = (
            s.ends_at.astimezone(p.tz).utcoffset()
            - s.starts_at.astimezone(p.tz).utcoffset()
        )
        assert s.ends_at - s.starts_at == p.step - offset_change


@settings(max_examples=100, deadline=None)
@given(plan_and_range(), st.data())
def test_the_slot_at_any_instant_is_the_one_in_the_generated_list(args, data):
    p, start, end = args
    shifts, _ = p.shifts(start, end)
    span = (end - start).total_seconds()
    at = start + dt.timedelta(seconds=data.draw(st.floats(0, span - 1e-3)))
    slot = p.slot_at(at)
    covering = [s for s in _by_role(shifts, PRIMARY) if s.starts_at <= at < s.ends_at]
    assert len(covering) == 1
    assert slot is not None and slot.index == covering[0].slot


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([PAIRED, FOLLOW, PRIMARY_ONLY]),
    st.integers(1, 5),
    st.integers(0, 10_000),
)
def test_over_one_cycle_everyone_holds_each_role_equally_often(scheme, half, k0):
    n = 2 * half if scheme == PAIRED else half + 1
    people = tuple(range(n))
    cycle = plan.cycle_length(scheme, n)
    counts: Counter = Counter()
    for k in range(k0, k0 + cycle):
        assignment = plan.assignment(scheme, people, k)
        roles = dict(assignment)
        if SECONDARY in roles:
            assert roles[PRIMARY] != roles[SECONDARY]
        counts.update(assignment)
    for role in plan.roles_of(scheme):
        assert {counts[(role, person)] for person in people} == {1}


def test_paired_six_reproduces_the_design_table_for_two_cycles():
    a, b, c, d, e, f = "alice bob charlie david eve frank".split()
    table = [(a, b), (c, d), (e, f), (b, a), (d, c), (f, e)]
    people = (a, b, c, d, e, f)
    for week in range(12):
        roles = dict(plan.assignment(PAIRED, people, week))
        assert (roles[PRIMARY], roles[SECONDARY]) == table[week % 6]


@pytest.mark.parametrize("n", [1, 3, 5])
def test_paired_rejects_an_odd_roster(n):
    assert "even number" in plan.scheme_problem(PAIRED, n)


def test_follow_makes_the_previous_primary_secondary():
    people = (1, 2, 3)
    for k in range(1, 9):
        previous = dict(plan.assignment(FOLLOW, people, k - 1))[PRIMARY]
        assert dict(plan.assignment(FOLLOW, people, k))[SECONDARY] == previous


def _transitions(tz: ZoneInfo, year: int) -> list[dt.datetime]:
    """UTC instants in ``year`` at which ``tz`` changes offset (hour resolution,
    then refined to the second)."""
    out = []
    t = dt.datetime(year, 1, 1, tzinfo=UTC)
    previous = t.astimezone(tz).utcoffset()
    while t.year == year:
        nxt = t + dt.timedelta(hours=1)
        offset = nxt.astimezone(tz).utcoffset()
        if offset != previous:
            lo, hi = t, nxt
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == offset:
                    hi = mid
                else:
                    lo = mid
            out.append(hi.replace(microsecond=0))
            previous = offset
        t = nxt
    return out


@st.composite
def plans_at_a_transition(draw):
    """Handoffs placed right on, just before and just after an offset change."""
    zone = ZoneInfo(draw(st.sampled_from([z for z in ZONES if z != "UTC"])))
    year = draw(st.integers(2008, 2030))
    transitions = _transitions(zone, year)
    if not transitions:
        transitions = [dt.datetime(year, 6, 1, tzinfo=UTC)]
    at = draw(st.sampled_from(transitions))
    before = (at - dt.timedelta(seconds=1)).astimezone(zone)
    nudge = dt.timedelta(minutes=draw(st.sampled_from([-60, -30, -15, 0, 15, 30, 45])))
    wall = (before.replace(tzinfo=None) + dt.timedelta(seconds=1) + nudge).replace(
        second=0
    )
    days_before = draw(st.integers(0, 3))
    step = draw(
        st.sampled_from(
            [dt.timedelta(days=1), dt.timedelta(hours=1), dt.timedelta(hours=12)]
        )
    )
    anchor = wall - days_before * (step if step < dt.timedelta(days=1) else step)
    scheme = draw(st.sampled_from([PAIRED, FOLLOW, PRIMARY_ONLY]))
    p = RotationPlan(scheme, (1, 2, 3, 4), anchor, step, zone)
    start = p.starts_at
    return p, start, at + 5 * step


@settings(max_examples=200, deadline=None)
@given(plans_at_a_transition())
def test_handoffs_on_the_transition_itself_still_tile(args):
    check_tiling(*args)
    check_handoffs(*args)
    check_durations(*args)


def _inside(restriction: Restriction, at: dt.datetime, tz: ZoneInfo) -> bool:
    """Independent oracle: is ``at`` inside a window, judged by local wall time."""
    local = at.astimezone(tz)
    t, wd = local.time().replace(tzinfo=None), local.weekday()
    s, e = restriction.start, restriction.end
    if e > s:
        return wd in restriction.weekdays and s <= t < e
    return (wd in restriction.weekdays and t >= s) or (
        (wd - 1) % 7 in restriction.weekdays and t < e
    )


def _near_transition(at: dt.datetime, tz: ZoneInfo) -> bool:
    # Wall-clock oracles are ambiguous within a few hours of an offset change.
    window = dt.timedelta(hours=26)
    return (at - window).astimezone(tz).utcoffset() != (at + window).astimezone(
        tz
    ).utcoffset()


@settings(max_examples=150, deadline=None)
@given(plan_and_range(restricted=True), st.data())
def test_a_restricted_rotation_covers_exactly_its_windows(args, data):
    p, start, end = args
    shifts, _ = p.shifts(start, end)
    primary = _by_role(shifts, PRIMARY)
    for a, b in zip(primary, primary[1:], strict=False):
        assert a.ends_at <= b.starts_at, "pieces never overlap"
    span = (end - start).total_seconds()
    for _ in range(20):
        at = start + dt.timedelta(seconds=data.draw(st.floats(0, span - 1e-3)))
        if _near_transition(at, p.tz):
            continue
        covered = [s for s in primary if s.starts_at <= at < s.ends_at]
        assert len(covered) == _inside(p.restriction, at, p.tz)
        if covered:
            # The piece belongs to the slot under way at that instant.
            assert covered[0].slot == p.slot_at(at).index


@pytest.mark.parametrize(
    ("zone", "wall", "expected_utc"),
    [
        # New York springs forward at 02:00 -> 03:00: 02:30 happens at 03:00 EDT.
        ("America/New_York", wall(2026, 3, 8, 2, 30), "2026-03-08T07:00:00"),
        # ... and falls back at 02:00 -> 01:00: 01:30 happens first in EDT.
        ("America/New_York", wall(2026, 11, 1, 1, 30), "2026-11-01T05:30:00"),
        # Lord Howe springs forward by half an hour, 02:00 -> 02:30.
        ("Australia/Lord_Howe", wall(2026, 10, 4, 2, 15), "2026-10-03T15:30:00"),
        # Apia skipped 30 December 2011 entirely.
        ("Pacific/Apia", wall(2011, 12, 30, 9, 0), "2011-12-30T10:00:00"),
        ("Asia/Kathmandu", wall(2026, 1, 5, 9, 0), "2026-01-05T03:15:00"),
    ],
)
def test_wall_clock_edge_cases(zone, wall, expected_utc):
    got = wall_to_utc(wall, ZoneInfo(zone))
    assert got.replace(tzinfo=None).isoformat() == expected_utc


def test_a_daily_shift_is_23_and_25_hours_on_berlin_dst_days():
    p = RotationPlan(
        PRIMARY_ONLY,
        (1, 2),
        wall(2026, 3, 27, 9, 0),
        dt.timedelta(days=1),
        ZoneInfo("Europe/Berlin"),
    )
    start = p.starts_at
    hours = [
        (s.ends_at - s.starts_at).total_seconds() / 3600
        for s in p.shifts(start, start + dt.timedelta(days=3))[0][:3]
    ]
    assert hours == [24, 23, 24]  # 29 March 2026: clocks go forward
    autumn = RotationPlan(
        PRIMARY_ONLY,
        (1, 2),
        wall(2026, 10, 24, 9, 0),
        dt.timedelta(days=1),
        ZoneInfo("Europe/Berlin"),
    )
    start = autumn.starts_at
    hours = [
        (s.ends_at - s.starts_at).total_seconds() / 3600
        for s in autumn.shifts(start, start + dt.timedelta(days=3))[0][:3]
    ]
    assert hours == [25, 24, 24]  # 25 October 2026: clocks go back


def test_nothing_is_scheduled_before_the_first_handoff():
    p = RotationPlan(
        PAIRED,
        (1, 2),
        wall(2026, 1, 5, 9),
        dt.timedelta(weeks=1),
        ZoneInfo("UTC"),
    )
    start = p.starts_at
    shifts, _ = p.shifts(start - dt.timedelta(weeks=3), start + dt.timedelta(hours=1))
    assert min(s.starts_at for s in shifts) == start
    assert p.slot_at(start - dt.timedelta(seconds=1)) is None
