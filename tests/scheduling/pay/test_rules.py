"""The pay rules beyond the reference case: DST weeks, currencies without and
with three minor digits, weekend and holiday multipliers (highest wins), a rate
that changes, two roles at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from scheduling.models import PayHoliday, PayPolicy
from scheduling.overrides import override_create
from scheduling.pay.statements import month_bounds, team_pay
from tests import cast

NAIROBI = ZoneInfo("Africa/Nairobi")
LONDON = ZoneInfo("Europe/London")


def at(tz: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def lines_by(report):
    return sorted(
        (report.username(ln.member_id), ln.role, ln.reason, ln.hours, ln.amount)
        for ln in report.lines
    )


def london_pair(make_team, make_member, start: dt.date):
    team, _ = make_team("london", time_zone="Europe/London", people=())
    a, b = make_member("ann"), make_member("ben")
    rotation = cast.rotation_create(
        team, [a, b], now=cast.utc(2026, 1, 1), start_date=start
    )
    return team, rotation


def test_a_week_across_the_spring_change_pays_one_week_or_167_hours(
    make_team, make_member, set_rate
):
    team, _ = london_pair(make_team, make_member, dt.date(2026, 3, 23))
    set_rate(team, "primary", "500", "GBP", unit="week")
    set_rate(team, "secondary", "10", "GBP", unit="hour")

    report = team_pay(
        team=team, start=at(LONDON, 2026, 3, 23, 9), end=at(LONDON, 2026, 3, 30, 9)
    )

    assert lines_by(report) == [
        ("ann", "primary", "", Decimal("167.000000"), Decimal("500.00")),
        ("ben", "secondary", "", Decimal("167.000000"), Decimal("1670.00")),
    ]


def test_a_week_across_the_autumn_change_pays_one_week_or_169_hours(
    make_team, make_member, set_rate
):
    team, _ = london_pair(make_team, make_member, dt.date(2026, 10, 19))
    set_rate(team, "primary", "500", "GBP", unit="week")
    set_rate(team, "secondary", "10", "GBP", unit="hour")

    report = team_pay(
        team=team, start=at(LONDON, 2026, 10, 19, 9), end=at(LONDON, 2026, 10, 26, 9)
    )

    assert lines_by(report) == [
        ("ann", "primary", "", Decimal("169.000000"), Decimal("500.00")),
        ("ben", "secondary", "", Decimal("169.000000"), Decimal("1690.00")),
    ]


def test_jpy_has_no_minor_unit_and_kwd_three(team, people, set_rate):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10000", "JPY")
    set_rate(team, "secondary", "100", "KWD")
    override_create(
        rotation=rotation,
        role="primary",
        member=people[2],
        starts_at=at(NAIROBI, 2026, 1, 7, 9),
        ends_at=at(NAIROBI, 2026, 1, 9, 9),
    )
    override_create(
        rotation=rotation,
        role="secondary",
        member=people[3],
        starts_at=at(NAIROBI, 2026, 1, 7, 9),
        ends_at=at(NAIROBI, 2026, 1, 9, 9),
    )

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )

    got = [(n, r, a) for n, r, _, _, a in lines_by(report)]
    assert got == [
        ("alice", "primary", Decimal("7143")),  # 50000/7 = 7142.857...
        ("bob", "secondary", Decimal("71.429")),  # 500/7 = 71.428571...
        ("charlie", "primary", Decimal("2857")),  # 20000/7 = 2857.142...
        ("david", "secondary", Decimal("28.571")),  # 200/7 = 28.571428...
    ]
    assert [str(a) for _, _, a in got] == ["7143", "71.429", "2857", "28.571"]


def test_weekend_days_pay_the_weekend_multiplier(team, people, set_rate):
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", weekend_multiplier=Decimal("1.5"))

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )

    # Saturday 10 and Sunday 11 January, local: 48 hours at 15 USD.
    assert lines_by(report) == [
        ("alice", "primary", "", Decimal("120.000000"), Decimal("1200.00")),
        ("alice", "primary", "weekend", Decimal("48.000000"), Decimal("720.00")),
    ]
    weekend = next(ln for ln in report.lines if ln.reason == "weekend")
    assert weekend.multiplier == Decimal("1.5")


def test_configured_weekend_days_replace_saturday_and_sunday(team, people, set_rate):
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", weekend_multiplier=Decimal("2"))
    PayPolicy.objects.create(team=team, weekend_days="4")  # Fridays only

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )

    assert ("alice", "primary", "weekend", Decimal("24.000000"), Decimal("480.00")) in (
        lines_by(report)
    )


def test_a_kenyan_public_holiday_pays_the_holiday_multiplier(team, people, set_rate):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", holiday_multiplier=Decimal("2"))
    PayPolicy.objects.create(team=team, holiday_country="KE")

    # Mashujaa Day, Tuesday 20 October 2026; week 42 of the rotation: frank.
    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 10, 20), end=at(NAIROBI, 2026, 10, 22)
    )

    assert cast.who(team, at(NAIROBI, 2026, 10, 20, 12))[0] == "frank"
    assert lines_by(report) == [
        ("frank", "primary", "", Decimal("24.000000"), Decimal("240.00")),
        (
            "frank",
            "primary",
            "holiday: Mashujaa Day",
            Decimal("24.000000"),
            Decimal("480.00"),
        ),
    ]
    assert rotation.pk in {ln.rotation_id for ln in report.lines}


def test_weekend_and_holiday_on_one_day_pay_the_highest_not_the_product(
    team, people, set_rate
):
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(
        team,
        "primary",
        "10",
        unit="hour",
        weekend_multiplier=Decimal("1.5"),
        holiday_multiplier=Decimal("2"),
    )
    PayPolicy.objects.create(team=team, holiday_country="KE")

    # Jamhuri Day, Saturday 12 December 2026.
    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 12, 12), end=at(NAIROBI, 2026, 12, 14)
    )

    got = [(reason, hours, amount) for _, _, reason, hours, amount in lines_by(report)]
    assert sorted(got) == [
        ("holiday: Jamhuri Day", Decimal("24.000000"), Decimal("480.00")),
        ("weekend", Decimal("24.000000"), Decimal("360.00")),
    ]


def test_an_operator_added_holiday_counts(team, people, set_rate):
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "10", unit="hour", holiday_multiplier=Decimal("3"))
    PayHoliday.objects.create(team=team, date=dt.date(2026, 1, 6), name="Offsite")

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 6), end=at(NAIROBI, 2026, 1, 7)
    )

    assert lines_by(report) == [
        (
            "alice",
            "primary",
            "holiday: Offsite",
            Decimal("24.000000"),
            Decimal("720.00"),
        ),
    ]


def test_a_new_rate_applies_from_its_date_and_not_before(team, people, set_rate):
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "700")
    set_rate(team, "primary", "1400", effective_from=dt.date(2026, 1, 9))

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )

    # 5 Jan 09:00 -> 9 Jan 00:00 is 3 days 15 h at 100 a day; then 3 days 9 h at 200.
    assert [ln.amount for ln in report.lines] == [Decimal("362.50"), Decimal("675.00")]


def test_a_rotation_rate_wins_over_the_team_rate(team, people, set_rate):
    rotation = cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    set_rate(team, "primary", "500")
    set_rate(team, "primary", "700", rotation=rotation)

    report = team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )

    assert [ln.amount for ln in report.lines] == [Decimal("700.00")]


def two_rotations(team, people, set_rate, rule: str):
    """alice is the secondary of "weekly" and, at the same time, the primary of
    "database" (primary only, alice alone)."""
    bob, alice = people[1], people[0]
    cast.rotation_create(team, [bob, alice], now=cast.utc(2026, 1, 1))
    cast.rotation_create(
        team,
        [alice],
        name="database",
        scheme="primary_only",
        now=cast.utc(2026, 1, 1),
    )
    set_rate(team, "primary", "500")
    set_rate(team, "secondary", "250")
    PayPolicy.objects.create(team=team, two_roles=rule)
    return team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )


def test_two_roles_at_once_pay_the_highest_only_by_default_rule(team, people, set_rate):
    report = two_rotations(team, people, set_rate, PayPolicy.HIGHEST)

    assert {(report.username(m), a) for m, _, a in report.totals()} == {
        ("alice", Decimal("500.00")),
        ("bob", Decimal("500.00")),
    }
    assert [
        (report.username(p.holding.member_id), p.holding.role) for p in report.unpaid
    ][:1] == [("alice", "secondary")]
    assert sum(p.seconds for p in report.unpaid) == 7 * 86400


def test_two_roles_at_once_pay_both_when_the_team_says_so(team, people, set_rate):
    report = two_rotations(team, people, set_rate, PayPolicy.BOTH)

    assert {(report.username(m), a) for m, _, a in report.totals()} == {
        ("alice", Decimal("750.00")),
        ("bob", Decimal("500.00")),
    }
    assert report.unpaid == []


def test_a_month_is_the_calendar_month_in_the_team_zone(team):
    start, end = month_bounds(team, 2026, 12)
    assert start == at(NAIROBI, 2026, 12, 1)
    assert end == at(NAIROBI, 2027, 1, 1)
