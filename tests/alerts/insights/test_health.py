"""Health flags fire at their thresholds and not below them.

Pages come from the real escalation engine: an incident opens, the sweep fires the
policy's step, the page goes out.  The cast's paired rotation (DESIGN.md §7) puts
alice on as primary in the week of Monday 18 January 2027 (54 weeks after the
start, 54 = 9 × 6); the clock is driven there, so the storm limit (which counts
pages by when they were really sent) never holds one.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
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
WEEK_LONG = timedelta(days=7)
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
    # On-call weeks run handoff to handoff: Monday 09:00 to Monday 09:00 in
    # Nairobi, a whole week each.  Everyone began two in the six weeks (and the
    # pair on call before them has a week ending 9 hours into the period).
    weeks_on = {}
    for w in report.weeks:
        local = w.start.astimezone(team.tz)
        assert (local.weekday(), local.hour, w.end - w.start) == (0, 9, WEEK_LONG)
        assert w.oncall == WEEK_LONG
        if w.start >= start:
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


BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(dt.UTC)


@pytest.fixture
def wednesdays(team, people, integration, make_rotation):
    """A Berlin team whose paired rotation hands off on Wednesdays at 09:00: charlie
    (and david) hold the week from Wednesday 25 March 2026 09:00 to Wednesday 1
    April 09:00, across the change to summer time on Sunday 29 March."""
    team.time_zone = "Europe/Berlin"
    team.save()
    for person in people:
        person.time_zone = "Europe/Berlin"
        person.save()
    make_rotation(team, people, now=utc(2026, 3, 1), start_date=dt.date(2026, 3, 18))
    policy_create(team, {"target": "primary", "channel": "sms"}, team_default=True)
    return integration


def _page_to(integration, at: dt.datetime, phone: str) -> None:
    before = len(sent())
    open_incident(integration, at=at)
    drive_at(at)
    assert [s.to for s in sent()[before:]] == [phone]


def test_an_oncall_week_runs_handoff_to_handoff_across_a_dst_change(team, wednesdays):
    first = _berlin(2026, 3, 25, 9, 0)  # CET, UTC+1: 08:00 UTC
    last = _berlin(2026, 4, 1, 8, 59)  # CEST, UTC+2: 06:59 UTC
    after = _berlin(2026, 4, 1, 9, 0)  # eve's week has begun
    _page_to(wednesdays, first, PHONES["charlie"])
    _page_to(wednesdays, last, PHONES["charlie"])
    _page_to(wednesdays, after, PHONES["eve"])

    start, end = _berlin(2026, 3, 23, 0, 0), _berlin(2026, 4, 6, 0, 0)
    load = page_load(team=team, start=start, end=end)
    by_name = {m.member.username: m for m in load.members}
    [week] = by_name["charlie"].weeks.values()
    assert (week.start, week.end) == (first, _berlin(2026, 4, 1, 9, 0))
    assert week.end - week.start == timedelta(hours=167)  # a short week
    assert (week.pages, week.on_rota) == (2, True)
    # The two pages fall in two calendar weeks (Mondays 23 and 30 March): a
    # calendar reading would split what charlie lived through as one week.
    assert (
        first.astimezone(BERLIN).isocalendar()[1]
        != last.astimezone(BERLIN).isocalendar()[1]
    )
    eve_weeks = {w.start: w.pages for w in by_name["eve"].weeks.values()}
    assert eve_weeks == {after: 1}


@pytest.mark.parametrize(("limit", "flagged"), [(2, False), (1, True)])
def test_the_load_flag_reads_the_oncall_week_not_the_calendar_week(
    team, wednesdays, limit, flagged
):
    InsightSettings.objects.create(team=team, max_pages_per_week=limit)
    _page_to(wednesdays, _berlin(2026, 3, 27, 10, 0), PHONES["charlie"])  # Friday
    _page_to(wednesdays, _berlin(2026, 3, 31, 10, 0), PHONES["charlie"])  # Tuesday
    start, end = _berlin(2026, 3, 23, 0, 0), _berlin(2026, 4, 6, 0, 0)
    report = health(team=team, start=start, end=end)
    [week] = [w for w in report.weeks if w.member.username == "charlie"]
    assert week.start == _berlin(2026, 3, 25, 9, 0)
    assert week.oncall == timedelta(hours=167)
    kinds = {f.kind: f for f in week.flags}
    assert ("load" in kinds) is flagged
    if flagged:
        assert kinds["load"].value == 2


def test_a_page_outside_the_members_oncall_weeks_is_an_off_rota_week(
    team, wednesdays, frank
):
    """frank is off in the week of 25 March; the policy pages him by name (its
    step's target is a member, as a manager's would be): the page falls in an
    off-rota calendar week, Monday to Monday in the team's zone."""
    from alerts.models import EscalationStep

    EscalationStep.objects.filter(policy__team=team).update(
        target="member", member=frank
    )
    at = _berlin(2026, 3, 26, 10, 0)  # Thursday
    _page_to(wednesdays, at, PHONES["frank"])
    load = page_load(
        team=team, start=at - timedelta(days=3), end=at + timedelta(days=3)
    )
    frank_load = next(m for m in load.members if m.member.username == "frank")
    off = [w for w in frank_load.weeks.values() if not w.on_rota]
    assert [(w.start, w.end, w.pages) for w in off] == [
        (_berlin(2026, 3, 23, 0, 0), _berlin(2026, 3, 30, 0, 0), 1)
    ]
