"""``/api/v1/reports/stipends/``: the contract of DESIGN.md §5, members seeing
only their own lines, CSV, statements of closed months, closing by staff."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model

from scheduling.overrides import override_create
from tests.api_client import bearer_client
from tests.cast import utc

SIX_WEEKS = "from=2026-01-05T09:00:00%2B03:00&to=2026-02-16T09:00:00%2B03:00"
URL = "/api/v1/reports/stipends/"


@pytest.fixture
def staff(db):
    return bearer_client(get_user_model().objects.create_user("ops", is_staff=True))


def test_the_totals_of_six_weeks_are_750_dollars_each(staff, reference):
    response = staff.get(f"{URL}?team=payments&{SIX_WEEKS}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == [
        {"member": name, "currency": "USD", "amount": "750.00"}
        for name in ("alice", "bob", "charlie", "david", "eve", "frank")
    ]
    alice_primary = next(
        ln
        for ln in body["lines"]
        if ln["member"] == "alice" and ln["role"] == "primary"
    )
    assert alice_primary["amount"] == "500.00"
    assert alice_primary["hours"] == "168.000000"
    assert alice_primary["rate"] == "500 USD/week"
    assert alice_primary["shifts"], "the line names the shifts behind it"


def test_a_member_sees_only_their_own_lines(reference, cast):
    override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 9, 6),
    )
    alice = bearer_client(cast["alice"].user)

    body = alice.get(f"{URL}?team=payments&{SIX_WEEKS}").json()

    assert body["totals"] == [
        {"member": "alice", "currency": "USD", "amount": "607.14"}
    ]
    assert {ln["member"] for ln in body["lines"]} == {"alice"}
    assert [(g["member"], g["covered_by"]) for g in body["given_away"]] == [
        ("alice", "charlie")
    ]


def test_dates_are_midnight_in_the_team_zone(staff, reference):
    # 2026-01-05 00:00 Nairobi to 2026-01-12 00:00: alice is primary from 09:00
    # Monday to the end of Sunday, 6 days 15 hours of 500/7 a day.
    body = staff.get(f"{URL}?team=payments&from=2026-01-05&to=2026-01-12").json()

    assert body["from"] == "2026-01-04T21:00:00+00:00"
    assert {"member": "alice", "currency": "USD", "amount": "473.21"} in body["totals"]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        (
            "team=payments&from=2026-01-05T09:00:00&to=2026-01-12",
            "from",
            "no UTC offset",
        ),
        ("team=payments&from=2026-01-05&to=yesterday", "to", "ISO 8601"),
        ("team=payments&from=2026-01-12&to=2026-01-05", "to", "after from"),
        ("team=payments&from=2026-01-01&to=2027-06-01", "to", "366 days"),
        ("team=payments&from=2026-02-30&to=2026-03-05", "from", "not a date"),
        ("from=2026-01-01&to=2026-02-01", "team", "slug"),
        ("team=payments&to=2026-02-01", "from", "required"),
    ],
)
def test_bad_input_is_a_clear_400(staff, reference, query, field, words):
    response = staff.get(f"{URL}?{query}")

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert words in response.json()["detail"][field][0]


def test_csv_is_one_row_per_member_currency_and_line_type(staff, reference, cast):
    override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 9, 6),
    )

    response = staff.get(f"{URL}?team=payments&{SIX_WEEKS}&format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == [
        "team",
        "period_start",
        "period_end",
        "member",
        "currency",
        "line_type",
        "hours",
        "amount",
        "refers_to",
    ]
    charlie = [(r["line_type"], r["amount"]) for r in rows if r["member"] == "charlie"]
    assert charlie == [("shift", "750.00"), ("override", "142.86")]
    assert (rows[0]["period_start"], rows[0]["period_end"]) == (
        "2026-01-05",
        "2026-02-16",
    )
    assert sum(float(r["amount"]) for r in rows) == pytest.approx(4500)


def test_staff_close_a_month_and_its_statement_is_read_back(staff, reference, cast):
    closed = staff.post(
        f"{URL}close/", {"team": "payments", "month": "2026-01"}, format="json"
    )
    assert closed.status_code == 201, closed.content
    assert closed.json()["closed"] is True
    override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 9, 6),
    )

    january = staff.get(f"{URL}statements/?team=payments&month=2026-01").json()
    february = staff.get(f"{URL}statements/?team=payments&month=2026-02").json()

    assert january["lines"] == closed.json()["lines"]
    adjustments = [ln for ln in february["lines"] if ln["kind"] == "adjustment"]
    assert sorted((a["member"], a["amount"], a["refers_to"]) for a in adjustments) == [
        ("alice", "-142.86", "2026-01"),
        ("charlie", "142.86", "2026-01"),
    ]
    again = staff.post(
        f"{URL}close/", {"team": "payments", "month": "2026-01"}, format="json"
    )
    assert again.status_code == 400
    assert "already closed" in again.json()["detail"]["month"][0]


def test_a_member_reads_only_their_own_statement(reference, cast):
    bob = bearer_client(cast["bob"].user)

    body = bob.get(f"{URL}statements/?team=payments&month=2026-01").json()

    assert {ln["member"] for ln in body["lines"]} == {"bob"}
    assert [t["member"] for t in body["totals"]] == ["bob"]


def test_reopen_needs_a_note_and_a_month(staff, reference):
    staff.post(f"{URL}close/", {"team": "payments", "month": "2026-01"}, format="json")

    no_note = staff.post(
        f"{URL}reopen/", {"team": "payments", "month": "2026-01"}, format="json"
    )
    bad_month = staff.post(
        f"{URL}reopen/",
        {"team": "payments", "month": "2026-13", "note": "x"},
        format="json",
    )
    ok = staff.post(
        f"{URL}reopen/",
        {"team": "payments", "month": "2026-01", "note": "rate"},
        format="json",
    )

    assert no_note.status_code == 400 and "note" in no_note.json()["detail"]
    assert bad_month.status_code == 400 and "YYYY-MM" in str(bad_month.json())
    assert ok.status_code == 200 and ok.json()["closed"] is False


def test_jpy_amounts_have_no_decimals(staff, team, people, set_rate):
    from tests import cast

    cast.rotation_create(team, people, now=utc(2026, 1, 1))
    set_rate(team, "primary", "10000", "JPY")

    body = staff.get(f"{URL}?team=payments&{SIX_WEEKS}").json()

    assert {t["amount"] for t in body["totals"]} == {"10000"}


def test_an_error_asked_for_as_csv_still_answers_json(staff, reference):
    response = staff.get(f"{URL}?team=payments&from=2026-01-05T09:00&format=csv")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "no UTC offset" in response.json()["detail"]["from"][0]


def test_an_outsider_cannot_tell_the_team_exists(reference, make_member):
    zoe = bearer_client(make_member("zoe").user)

    response = zoe.get(f"{URL}statements/?team=payments&month=2026-01")

    assert response.status_code == 404
    assert "payments" not in response.content.decode()


def test_one_members_statement(staff, reference, cast):
    bob = bearer_client(cast["bob"].user)

    by_staff = staff.get(f"{URL}statements/?team=payments&month=2026-01&member=eve")
    by_bob = bob.get(f"{URL}statements/?team=payments&month=2026-01&member=eve")

    assert {ln["member"] for ln in by_staff.json()["lines"]} == {"eve"}
    assert by_bob.json()["lines"] == [] and by_bob.json()["totals"] == []


def test_a_closed_months_statement_lists_the_overrides_given_away_as_stored(
    staff, reference, cast
):
    override = override_create(
        rotation=reference,
        role="primary",
        member=cast["charlie"],
        starts_at=utc(2026, 1, 7, 6),
        ends_at=utc(2026, 1, 9, 6),
    )
    closed = staff.post(
        f"{URL}close/", {"team": "payments", "month": "2026-01"}, format="json"
    )
    assert closed.status_code == 201, closed.content
    override_id = override.pk
    override.delete()  # a later change: the closed month does not see it

    january = staff.get(f"{URL}statements/?team=payments&month=2026-01").json()
    as_alice = bearer_client(cast["alice"].user).get(
        f"{URL}statements/?team=payments&month=2026-01"
    )
    as_bob = bearer_client(cast["bob"].user).get(
        f"{URL}statements/?team=payments&month=2026-01"
    )

    assert january["closed"] is True
    assert january["given_away"] == [
        {
            "member": "alice",
            "covered_by": "charlie",
            "rotation": reference.name,
            "role": "primary",
            "override": override_id,
            "starts_at": "2026-01-07T06:00:00+00:00",
            "ends_at": "2026-01-09T06:00:00+00:00",
        }
    ]
    assert as_alice.json()["given_away"] == january["given_away"]
    assert as_bob.json()["given_away"] == []
