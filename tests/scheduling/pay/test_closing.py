"""Closed months are stored and never recomputed; a late change becomes an
adjustment in the next open month; reopening is a logged, guarded action."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from scheduling.models import PayLogEntry
from scheduling.overrides import override_create
from scheduling.pay.closing import (
    ClosingError,
    month_close,
    month_reopen,
    month_statement,
)
from scheduling.pay.export import payroll_csv
from scheduling.pay.statements import row_totals
from tests.cast import utc

NAIROBI = ZoneInfo("Africa/Nairobi")


def january_csv(team) -> bytes:
    statement = month_statement(team=team, year=2026, month=1)
    return payroll_csv(
        statement.rows,
        team=team.slug,
        first=dt.date(2026, 1, 1),
        last=dt.date(2026, 1, 31),
    ).encode()


def late_override(reference, cast):
    return override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=dt.datetime(2026, 1, 7, 9, tzinfo=NAIROBI),
        ends_at=dt.datetime(2026, 1, 9, 9, tzinfo=NAIROBI),
        reason="alice at a wedding",
    )


def test_a_late_override_leaves_the_closed_month_byte_identical(team, reference, cast):
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    before = january_csv(team)
    rows_before = month_statement(team=team, year=2026, month=1).rows

    late_override(reference, cast)

    assert january_csv(team) == before
    assert month_statement(team=team, year=2026, month=1).rows == rows_before
    assert b"adjustment" not in before


def test_the_late_override_becomes_adjustments_in_the_next_open_month(
    team, reference, cast
):
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    override = late_override(reference, cast)

    february = month_statement(team=team, year=2026, month=2)

    adjustments = [r for r in february.rows if r.kind == "adjustment"]
    assert sorted((r.username, r.role, r.amount) for r in adjustments) == [
        ("alice", "primary", Decimal("-142.86")),
        ("charlie", "primary", Decimal("142.86")),
    ]
    for row in adjustments:
        assert row.refers_to == dt.date(2026, 1, 1)
        assert row.note.startswith("late change to closed 2026-01: ")
        assert f"override #{override.pk}: charlie covers primary" in row.note
        assert "alice at a wedding" in row.note
    assert sum(r.amount for r in adjustments) == 0


def test_an_adjustment_is_made_once_then_the_closed_months_agree(team, reference, cast):
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    late_override(reference, cast)
    month_close(team=team, year=2026, month=2, now=utc(2026, 3, 2))

    stored = month_statement(team=team, year=2026, month=2)
    march = month_statement(team=team, year=2026, month=3)

    assert stored.closed
    assert [r.amount for r in stored.rows if r.kind == "adjustment"] != []
    assert [r for r in march.rows if r.kind == "adjustment"] == []


def test_closing_stores_what_the_open_month_showed(team, reference):
    open_rows = month_statement(team=team, year=2026, month=1).rows

    answer = month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    closed = month_statement(team=team, year=2026, month=1)  # read back

    assert closed.closed and closed.rows == open_rows == answer.rows
    # alice: primary in week 1 (500), secondary from 26 Jan 09:00 to the end of
    # January in Nairobi, 5 days 15 hours: 250 * 5.625 / 7 = 200.892857...
    assert row_totals(closed.rows)[0] == ("alice", "USD", Decimal("700.89"))


def test_a_month_not_over_cannot_be_closed_nor_closed_twice(team, reference):
    with pytest.raises(ClosingError, match="not over yet"):
        month_close(team=team, year=2026, month=1, now=utc(2026, 1, 31, 20))
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    with pytest.raises(ClosingError, match="already closed"):
        month_close(team=team, year=2026, month=1, now=utc(2026, 2, 3))


def test_reopening_is_logged_and_refused_while_a_later_month_is_closed(
    team, reference, cast, admin_user
):
    month_close(team=team, year=2026, month=1, by=admin_user, now=utc(2026, 2, 2))
    month_close(team=team, year=2026, month=2, by=admin_user, now=utc(2026, 3, 2))
    with pytest.raises(ClosingError, match="2026-02 is closed after it"):
        month_reopen(team=team, year=2026, month=1, by=admin_user)

    month_reopen(
        team=team,
        year=2026,
        month=2,
        by=admin_user,
        note="wrong rate",
        now=utc(2026, 3, 3),
    )
    late_override(reference, cast)

    february = month_statement(team=team, year=2026, month=2)
    assert not february.closed
    assert {r.amount for r in february.rows if r.kind == "adjustment"} == {
        Decimal("-142.86"),
        Decimal("142.86"),
    }
    log = list(
        PayLogEntry.objects.filter(team=team).values_list("month", "action", "note")
    )
    assert log == [
        (dt.date(2026, 2, 1), "reopen", "wrong rate"),
        (dt.date(2026, 2, 1), "close", ""),
        (dt.date(2026, 1, 1), "close", ""),
    ]


def test_a_closed_month_in_jpy_reads_back_without_decimals(team, people, set_rate):
    from tests import cast

    cast.rotation_create(team, people, now=utc(2026, 1, 1))
    set_rate(team, "primary", "10000", "JPY")
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))

    rows = month_statement(team=team, year=2026, month=1).rows

    assert {str(r.amount) for r in rows if r.username == "alice"} == {"10000"}


def test_a_corrected_rate_in_a_closed_month_becomes_an_adjustment(
    team, reference, set_rate
):
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    rate = set_rate(team, "primary", "600", effective_from=dt.date(2026, 1, 12))

    february = month_statement(team=team, year=2026, month=2)

    adjustments = sorted(
        (r.username, r.amount) for r in february.rows if r.kind == "adjustment"
    )
    # From 12 January (local midnight) the primary week pays 600: the last 9 h of
    # alice's week 1 (now two lines, 473.21 + 32.14 = 505.35, each rounded once:
    # +5.35), charlie's week 2 and eve's week 3 (+100 each), bob's week 4 up to
    # the month's end (5 days 15 h: 482.14 now, 401.79 paid: +80.35; adjustments
    # are differences of rounded lines, so the payroll adds up to the new lines).
    assert adjustments == [
        ("alice", Decimal("5.35")),
        ("bob", Decimal("80.35")),
        ("charlie", Decimal("100.00")),
        ("eve", Decimal("100.00")),
    ]
    assert all(
        f"rate #{rate.pk} added" in r.note
        for r in february.rows
        if r.kind == "adjustment"
    )


def test_two_currencies_give_two_totals(team, reference, set_rate):
    set_rate(team, "primary", "70000", "KES", rotation=reference)

    statement = month_statement(team=team, year=2026, month=1)

    assert row_totals(r for r in statement.rows if r.username == "alice") == [
        ("alice", "KES", Decimal("70000.00")),
        ("alice", "USD", Decimal("200.89")),
    ]


def test_an_open_month_lists_the_overrides_given_away(team, reference, cast):
    override = late_override(reference, cast)

    statement = month_statement(team=team, year=2026, month=1)

    assert [
        (g.username, g.covered_by, g.role, g.override_id, g.starts_at, g.ends_at)
        for g in statement.given_away
    ] == [
        (
            "alice",
            "charlie",
            "primary",
            override.pk,
            dt.datetime(2026, 1, 7, 9, tzinfo=NAIROBI),
            dt.datetime(2026, 1, 9, 9, tzinfo=NAIROBI),
        )
    ]


def test_overrides_given_away_are_stored_with_the_month_and_never_recomputed(
    team, reference, cast
):
    override = late_override(reference, cast)  # made before closing this time
    answer = month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    before = month_statement(team=team, year=2026, month=1)
    csv_before = january_csv(team)

    # Later: the override is taken back, and another one moves two days of bob's.
    override_id = override.pk
    override.delete()
    override_create(
        rotation=reference,
        role="primary",
        member=cast["eve"],
        starts_at=dt.datetime(2026, 1, 26, 9, tzinfo=NAIROBI),
        ends_at=dt.datetime(2026, 1, 28, 9, tzinfo=NAIROBI),
        reason="bob away",
    )
    after = month_statement(team=team, year=2026, month=1)

    assert after.closed
    assert after.given_away == before.given_away == answer.given_away
    assert [
        (g.username, g.covered_by, g.role, g.override_id, g.starts_at, g.ends_at)
        for g in after.given_away
    ] == [
        (
            "alice",
            "charlie",
            "primary",
            override_id,
            dt.datetime(2026, 1, 7, 9, tzinfo=NAIROBI),
            dt.datetime(2026, 1, 9, 9, tzinfo=NAIROBI),
        )
    ]
    assert after.rows == before.rows
    assert january_csv(team) == csv_before


def test_reopening_drops_the_stored_given_away_too(team, reference, cast):
    override = late_override(reference, cast)
    month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    override.delete()

    month_reopen(team=team, year=2026, month=1, note="override withdrawn")

    assert month_statement(team=team, year=2026, month=1).given_away == []


def _team_of(team, people, set_rate, cast, rotations: int) -> int:
    """``rotations`` weekly paired rotations of the six in ``team``, each with its
    own rates (so each makes its own lines), paid ``both`` (every rotation its
    holders), each with an override given away; returns January's line count."""
    from scheduling.models import PayPolicy
    from tests import cast as cast_module

    PayPolicy.objects.create(team=team, two_roles=PayPolicy.BOTH)
    for i in range(rotations):
        rotation = cast_module.rotation_create(
            team, people, name=f"r{i}", now=utc(2026, 1, 1)
        )
        set_rate(team, "primary", "500", rotation=rotation)
        set_rate(team, "secondary", "250", rotation=rotation)
        override_create(
            rotation=rotation,
            role="primary",
            member=cast["charlie"],
            starts_at=dt.datetime(2026, 1, 7, 9, tzinfo=NAIROBI),
            ends_at=dt.datetime(2026, 1, 9, 9, tzinfo=NAIROBI),
        )
    return len(month_statement(team=team, year=2026, month=1).rows)


def _closing_queries(team) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        month_close(team=team, year=2026, month=1, now=utc(2026, 2, 2))
    return [q["sql"] for q in captured.captured_queries]


def test_closing_takes_a_fixed_number_of_queries_however_many_lines(
    team, other_team, people, set_rate, cast
):
    small = _team_of(team, people, set_rate, cast, rotations=1)
    big = _team_of(other_team, people, set_rate, cast, rotations=16)
    # The sizes matter: the big month's lines need more variables than SQLite's
    # old default of 999 (18 columns a line) twice over, so batches cut at that
    # limit would take three INSERTs or more; the small one fits in one.
    assert small * 18 < 999 < 2 * 999 < big * 18, (small, big)

    few, many = _closing_queries(team), _closing_queries(other_team)

    assert len(few) == len(many)
    for queries in (few, many):
        inserts = [q for q in queries if q.startswith("INSERT")]
        assert [q.split()[2] for q in inserts] == [
            '"scheduling_paymonth"',
            '"scheduling_payline"',
            '"scheduling_paygivenaway"',
            '"scheduling_paylogentry"',
        ]
    for closed, lines, rotations in ((team, small, 1), (other_team, big, 16)):
        stored = month_statement(team=closed, year=2026, month=1)
        assert len(stored.rows) == lines
        assert len(stored.given_away) == rotations
