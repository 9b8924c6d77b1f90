"""Health flags fire at their thresholds and not below them.

Pages come from the real escalation engine: an incident opens, the sweep fires the
policy's step, the page goes out.  The cast's paired rotation (DESIGN.md §7) puts
alice on as primary in the week of Monday 18 January 2027 (54 weeks after the
start, 54 = 9 × 6); the clock is driven there, so the storm limit (which counts
pages by when they were really sent) never holds one.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest

from alerts.insights.fairness import fairness, gini
from alerts.insights.health import health, rest_broken
from alerts.insights.page_load import page_load
from alerts.insights.rota import rota_health
from alerts.models import InsightSettings
from tests.alerts.conftest import open_incident, sent
from tests.alerts.insights.conftest import drive_at
from tests.cast import PHONES, policy_create, utc

WEEK = utc(2027, 1, 17, 21)  # Monday 18 January 2027, 00:00 in Nairobi
ALICE_ON = utc(2027, 1, 18, 6)  # 09:00 in Nairobi: alice's week as primary begins


@pytest.fixture
def setup(team, people, integration, make_rotation):
    make_rotation(team, people, now=utc(2027, 1, 1))
    policy_create(team, {"target": "primary", "channel": "sms"}, team_default=True)
    return integration


def _page(integration, at: dt.datetime) -> None:
    """An incident at ``at``: the engine pages alice, at once (no storm hold)."""
    before = len(sent())
    open_incident(integration, at=at)
    drive_at(at)
    after = sent()
    assert [s.to for s in after[before:]] == [PHONES["alice"]]


def _flags(team, username="alice"):
    report = health(team=team, start=WEEK, end=WEEK + timedelta(days=7))
    [week] = [w for w in report.weeks if w.member.username == username]
    return {f.kind: f for f in week.flags}


def _daytime(n: int) -> list[dt.datetime]:
    """``n`` instants in alice's business hours (UTC), 13 hours apart at most
    twice a day, from Tuesday on."""
    start = utc(2027, 1, 19, 9)
    return [
        start + timedelta(hours=5 * (i % 2)) + timedelta(days=i // 2) for i in range(n)
    ]


@pytest.mark.parametrize(("pages", "flagged"), [(10, False), (11, True)])
def test_more_than_10_pages_a_week_is_flagged(team, setup, pages, flagged):
    for at in _daytime(pages):
        _page(setup, at)
    flags = _flags(team)
    assert ("load" in flags) is flagged
    if flagged:
        assert flags["load"].value == 11
        assert flags["load"].threshold == "more than 10 pages a week"


def test_the_expected_load_is_configurable_per_team(team, setup):
    InsightSettings.objects.create(team=team, max_pages_per_week=2)
    for at in _daytime(3):
        _page(setup, at)
    assert _flags(team)["load"].threshold == "more than 2 pages a week"


@pytest.mark.parametrize(("nights", "flagged"), [(2, False), (3, True)])
def test_more_than_2_sleep_interruptions_a_week_is_flagged(
    team, setup, nights, flagged
):
    for day in range(nights):
        _page(setup, utc(2027, 1, 19 + day, 23))  # 23:00 for alice (UTC)
    flags = _flags(team)
    assert ("sleep" in flags) is flagged


@pytest.mark.parametrize(
    ("offsets", "flagged"),
    [
        ((0, 6, 11.99), True),  # three incidents inside 12 hours
        ((0, 6, 12), False),  # the third is 12 hours after the first
        ((0, 11), False),  # two
    ],
)
def test_more_than_2_incidents_within_12_hours_is_flagged(
    team, setup, offsets, flagged
):
    start = utc(2027, 1, 20, 8)
    for hours in offsets:
        _page(setup, start + timedelta(hours=hours))
    assert ("incidents_12h" in _flags(team)) is flagged


@pytest.mark.parametrize(
    ("gap", "flagged"),
    [(timedelta(hours=10, minutes=59), True), (timedelta(hours=11), False)],
)
def test_no_unbroken_11_hour_rest_within_24_hours_is_flagged(team, setup, gap, flagged):
    start = utc(2027, 1, 20, 1)
    for n in range(3):
        _page(setup, start + n * gap)
    assert ("no_rest" in _flags(team)) is flagged


def test_rest_broken_reads_windows_starting_and_ending_at_a_page():
    t = utc(2027, 1, 1)
    gap = timedelta(hours=10, minutes=59)
    # Two pages leave 13:01 free on one side or the other of any 24 hours.
    assert rest_broken([t, t + gap]) == []
    # Three: the 24 hours from the first, and those up to the last, have no
    # 11-hour gap; those around the middle one do (13:01 before or after it).
    three = [t, t + gap, t + 2 * gap]
    assert rest_broken(three) == [three[0], three[2]]


def test_the_paired_six_person_scheme_has_no_back_to_back_weeks(
    team, people, make_rotation
):
    make_rotation(team, people, now=utc(2026, 1, 1))
    start = utc(2026, 1, 11, 21)  # Monday 12 January, 00:00 in Nairobi
    report = health(team=team, start=start, end=start + timedelta(weeks=6))
    assert [
        w for w in report.weeks if any(f.kind == "back_to_back" for f in w.flags)
    ] == []
    # Everyone was on call in two of the six weeks (with the Monday 09:00 handoffs
    # touching a third week for 9 hours).
    weeks_on = {}
    for w in report.weeks:
        if w.oncall >= timedelta(hours=24):
            weeks_on[w.member.username] = weeks_on.get(w.member.username, 0) + 1
    assert weeks_on == dict.fromkeys(
        ["alice", "bob", "charlie", "david", "eve", "frank"], 2
    )


def test_a_follow_scheme_is_back_to_back_by_design(team, people, make_rotation):
    make_rotation(team, people[:3], now=utc(2026, 1, 1), scheme="follow")
    start = utc(2026, 1, 18, 21)  # Monday 19 January, 00:00 in Nairobi
    report = health(team=team, start=start, end=start + timedelta(weeks=1))
    flagged = {
        w.member.username
        for w in report.weeks
        if any(f.kind == "back_to_back" for f in w.flags)
    }
    # Week 2: charlie primary; bob, primary in week 1, now secondary.
    assert flagged == {"bob"}


def test_the_six_person_scheme_is_33_percent_and_the_page_says_how_to_fix_it(
    team, people, make_rotation
):
    make_rotation(team, people, now=utc(2026, 1, 1))
    start = utc(2026, 1, 5, 6)  # the first handoff, 09:00 in Nairobi
    [health_of] = rota_health(team=team, start=start, end=start + timedelta(weeks=6))
    assert (health_of.people, health_of.roles) == (6, 2)
    assert [round(s.share, 4) for s in health_of.shares] == [round(2 / 6, 4)] * 6
    assert health_of.flagged
    assert "each is on call 2 periods in 6 (33% of the time)" in health_of.advice
    assert "add 2 more people (at least 8)" in health_of.advice
    assert "secondary from another site" in health_of.advice


def test_eight_people_are_within_the_limit(team, people, make_member, make_rotation):
    eight = [*people, make_member("gus"), make_member("hana")]
    make_rotation(team, eight, now=utc(2026, 1, 1))
    start = utc(2026, 1, 5, 6)
    [health_of] = rota_health(team=team, start=start, end=start + timedelta(weeks=8))
    assert not health_of.flagged
    assert "(25% of the time), within the 25% limit" in health_of.advice


def test_fairness_over_a_quarter(team, people, make_rotation):
    make_rotation(team, people, now=utc(2026, 1, 1))
    start = utc(2026, 1, 5, 6)
    load = page_load(team=team, start=start, end=start + timedelta(weeks=12))
    result = fairness(load)
    assert {r.member.username for r in result.rows} == {p.username for p in people}
    # Twelve weeks, two of six roles a week: 2 × 12 × 168 / 6 hours each.
    assert result.means["oncall_hours"] == pytest.approx(672.0)
    assert result.max_over_mean["oncall_hours"] == pytest.approx(1.0)
    assert result.gini["oncall_hours"] == pytest.approx(0.0)
    assert result.gini["pages"] is None  # nobody was paged


def test_gini():
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([]) is None
