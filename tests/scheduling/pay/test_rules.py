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
    """The team's schedule (layers applied) pages bob as primary (the older
    rotation wins the tie) and alice as secondary: she is paid for that role
    only; her "database" primary lies under the weekly layer all week."""
    report = two_rotations(team, people, set_rate, PayPolicy.HIGHEST)

    assert lines_by(report) == [
        ("alice", "secondary", "", Decimal("168.000000"), Decimal("250.00")),
        ("bob", "primary", "", Decimal("168.000000"), Decimal("500.00")),
    ]
    assert report.unpaid == []


def test_two_roles_at_once_pay_both_when_the_team_says_so(team, people, set_rate):
    report = two_rotations(team, people, set_rate, PayPolicy.BOTH)

    assert {(report.username(m), a) for m, _, a in report.totals()} == {
        ("alice", Decimal("750.00")),
        ("bob", Decimal("500.00")),
    }
    assert report.unpaid == []


def saturday_cover(team, people, set_rate, who, rule=None):
    """The six's weekly rotation (layer 1: alice primary and bob secondary from
    Monday 5 January 09:00) under a layer-2 rotation of ``who`` alone, primary
    only, covering Saturday 10 January 09:00-21:00 (Nairobi); 500/250 USD a
    week, paid per local day.  One week's pay."""
    cast.rotation_create(team, people, now=cast.utc(2026, 1, 1))
    cast.rotation_create(
        team,
        [who],
        name="saturday cover",
        scheme="primary_only",
        layer=2,
        restrict_weekdays="5",
        restrict_start=dt.time(9),
        restrict_end=dt.time(21),
        now=cast.utc(2026, 1, 1),
    )
    set_rate(team, "primary", "500")
    set_rate(team, "secondary", "250")
    if rule is not None:
        PayPolicy.objects.create(team=team, two_roles=rule)
    return team_pay(
        team=team, start=at(NAIROBI, 2026, 1, 5, 9), end=at(NAIROBI, 2026, 1, 12, 9)
    )


def totals_of(report):
    return {report.username(m): a for m, _, a in report.totals()}


def test_a_higher_layer_covering_takes_the_role_and_its_pay_from_the_lower_one(
    team, people, set_rate
):
    report = saturday_cover(team, people, set_rate, who=people[5])  # frank

    # Half a local day of a 500-a-week primary: 500 / 7 / 2 = 35.714285...
    # moves from alice to frank; bob stays secondary all week.
    assert totals_of(report) == {
        "alice": Decimal("464.29"),
        "bob": Decimal("250.00"),
        "frank": Decimal("35.71"),
    }
    frank = report.for_member(people[5].pk)
    assert [(ln.role, ln.kind, ln.hours) for ln in frank] == [
        ("primary", "shift", Decimal("12.000000"))
    ]
    assert report.rotation_names[frank[0].rotation_id] == "saturday cover"


def test_the_relieved_primary_is_paid_as_the_secondary_the_team_made_them(
    team, people, set_rate
):
    """bob, the weekly's secondary, covers the top layer: the team pages him as
    primary and alice (displaced) as secondary for those 12 hours, so each is
    paid for the one role the team gave them."""
    report = saturday_cover(team, people, set_rate, who=people[1])  # bob

    assert totals_of(report) == {
        # 500 * 6.5/7 + 250 * 0.5/7 = 464.2857 + 17.8571
        "alice": Decimal("464.29") + Decimal("17.86"),
        # 250 * 6.5/7 + 500 * 0.5/7 = 232.1429 + 35.7143
        "bob": Decimal("232.14") + Decimal("35.71"),
    }
    assert sum(totals_of(report).values()) == Decimal("750.00")
    alice = report.for_member(people[0].pk)
    assert [(ln.role, ln.hours) for ln in alice] == [
        ("primary", Decimal("156.000000")),
        ("secondary", Decimal("12.000000")),
    ]


def test_both_pays_every_rotation_its_own_holders_under_a_higher_layer(
    team, people, set_rate
):
    report = saturday_cover(team, people, set_rate, who=people[5], rule=PayPolicy.BOTH)

    assert totals_of(report) == {
        "alice": Decimal("500.00"),
        "bob": Decimal("250.00"),
        "frank": Decimal("35.71"),
    }


def test_a_month_is_the_calendar_month_in_the_team_zone(team):
    start, end = month_bounds(team, 2026, 12)
    assert start == at(NAIROBI, 2026, 12, 1)
    assert end == at(NAIROBI, 2027, 1, 1)
