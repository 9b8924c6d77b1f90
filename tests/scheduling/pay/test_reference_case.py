"""DESIGN.md §7's reference case, paid: 500 USD a primary week, 250 a secondary
week, and an override that moves exactly 2/7 of a primary week."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from scheduling.overrides import override_create
from scheduling.pay.statements import team_pay

NAIROBI = ZoneInfo("Africa/Nairobi")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NAIROBI)


SIX_WEEKS = (local(2026, 1, 5, 9), local(2026, 2, 16, 9))


def totals(report) -> dict[str, tuple[str, Decimal]]:
    out = {}
    for member_id, currency, amount in report.totals():
        assert report.username(member_id) not in out, "one currency each"
        out[report.username(member_id)] = (currency, amount)
    return out


def test_six_weeks_pay_each_person_one_primary_and_one_secondary_week(team, reference):
    report = team_pay(team=team, start=SIX_WEEKS[0], end=SIX_WEEKS[1])

    assert totals(report) == {
        name: ("USD", Decimal("750.00"))
        for name in ("alice", "bob", "charlie", "david", "eve", "frank")
    }
    by_role = sorted(
        (report.username(ln.member_id), ln.role, ln.amount, ln.hours)
        for ln in report.lines
    )
    assert by_role == sorted(
        [
            (n, "primary", Decimal("500.00"), Decimal("168.000000"))
            for n in ("alice", "bob", "charlie", "david", "eve", "frank")
        ]
        + [
            (n, "secondary", Decimal("250.00"), Decimal("168.000000"))
            for n in ("alice", "bob", "charlie", "david", "eve", "frank")
        ]
    )
    assert all(ln.rounding == 0 for ln in report.lines)
    assert sum(a for _, _, a in report.totals()) == Decimal("4500.00")


def test_an_override_wednesday_to_friday_moves_two_sevenths_of_a_primary_week(
    team, reference, cast
):
    override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=local(2026, 1, 7, 9),
        ends_at=local(2026, 1, 9, 9),
        reason="alice at a wedding",
    )

    report = team_pay(team=team, start=SIX_WEEKS[0], end=SIX_WEEKS[1])

    got = totals(report)
    assert got["alice"] == ("USD", Decimal("607.14"))  # 357.14 + 250
    assert got["charlie"] == ("USD", Decimal("892.86"))  # 750 + 142.86
    assert {got[n] for n in ("bob", "david", "eve", "frank")} == {
        ("USD", Decimal("750.00"))
    }
    assert sum(a for _, _, a in report.totals()) == Decimal("4500.00")

    covered = [ln for ln in report.lines if ln.kind == "override"]
    assert len(covered) == 1
    line = covered[0]
    assert (report.username(line.member_id), line.role) == ("charlie", "primary")
    assert line.amount == Decimal("142.86")
    assert line.hours == Decimal("48.000000")
    # 1000/7 = 142.857142857...: rounding added 0.002857..., shown, not lost.
    assert line.rounding == Decimal("0.002857")
    alice_primary = next(
        ln
        for ln in report.lines
        if report.username(ln.member_id) == "alice" and ln.role == "primary"
    )
    assert alice_primary.amount == Decimal("357.14")
    assert alice_primary.rounding == Decimal("-0.002857")
    # The why: the line names the override; alice's statement shows it given away.
    assert len(line.override_ids) == 1
    given = [g for g in report.given_away if report.username(g.member_id) == "alice"]
    assert [(g.covered_by, g.starts_at, g.ends_at) for g in given] == [
        (cast["charlie"].pk, local(2026, 1, 7, 9), local(2026, 1, 9, 9))
    ]


def test_an_inactive_member_is_paid_for_what_they_held(team, reference, cast):
    cast["alice"].active = False
    cast["alice"].save()

    report = team_pay(team=team, start=SIX_WEEKS[0], end=SIX_WEEKS[1])

    assert totals(report)["alice"] == ("USD", Decimal("750.00"))
