"""The minimum per shift: a short override (or shift) pays at least the rate's
minimum, topped up on a line of its own in the period where it ends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from scheduling.overrides import override_create
from scheduling.pay.statements import month_bounds, team_pay
from tests import cast

NAIROBI = ZoneInfo("Africa/Nairobi")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NAIROBI)


def lines(report):
    return sorted(
        (report.username(ln.member_id), ln.kind, ln.amount) for ln in report.lines
    )


def test_a_two_hour_override_pays_at_least_the_minimum(team, people, set_rate):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", minimum_per_shift=Decimal(50))
    override_create(
        rotation=rotation,
        role="primary",
        member=people[2],
        starts_at=at(2026, 1, 7, 10),
        ends_at=at(2026, 1, 7, 12),
    )

    report = team_pay(team=team, start=at(2026, 1, 5, 9), end=at(2026, 1, 12, 9))

    assert lines(report) == [
        # alice's week (166 h) pays more than the minimum: no top-up.
        ("alice", "shift", Decimal("1660.00")),
        ("charlie", "minimum", Decimal("30.00")),
        ("charlie", "override", Decimal("20.00")),
    ]
    minimum = next(ln for ln in report.lines if ln.kind == "minimum")
    assert minimum.reason == "minimum per shift"
    assert len(minimum.override_ids) == 1


def test_an_override_across_the_month_end_is_topped_up_where_it_ends(
    team, people, set_rate
):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", minimum_per_shift=Decimal(50))
    override_create(
        rotation=rotation,
        role="primary",
        member=people[2],
        starts_at=at(2026, 1, 31, 23),
        ends_at=at(2026, 2, 1, 1),
    )

    january = team_pay(
        team=team,
        start=month_bounds(team, 2026, 1)[0],
        end=month_bounds(team, 2026, 1)[1],
    )
    february = team_pay(
        team=team,
        start=month_bounds(team, 2026, 2)[0],
        end=month_bounds(team, 2026, 2)[1],
    )

    def covering(report):
        return [
            (k, a) for n, k, a in lines(report) if n == "charlie" and k != "shift"
        ]

    charlie_jan, charlie_feb = covering(january), covering(february)
    # One hour each side; the whole override (20) is topped up to 50 once, in
    # February, where it ends.
    assert charlie_jan == [("override", Decimal("10.00"))]
    assert charlie_feb == [
        ("minimum", Decimal("30.00")),
        ("override", Decimal("10.00")),
    ]


def test_no_minimum_no_top_up(team, people, set_rate):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour")
    override_create(
        rotation=rotation,
        role="primary",
        member=people[2],
        starts_at=at(2026, 1, 7, 10),
        ends_at=at(2026, 1, 7, 12),
    )

    report = team_pay(team=team, start=at(2026, 1, 5, 9), end=at(2026, 1, 12, 9))

    assert [k for _, k, _ in lines(report)] == ["shift", "override"]
