"""The PagerDuty layer pieces our model can hold, and the reasons for those it
cannot: restrictions and turn lengths."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.importers.pagerduty import _restriction, _turn


def daily(start: str, seconds: int) -> dict:
    return {
        "type": "daily_restriction",
        "start_time_of_day": start,
        "duration_seconds": seconds,
    }


def weekly(day: int, start: str, seconds: int) -> dict:
    return {
        "type": "weekly_restriction",
        "start_day_of_week": day,
        "start_time_of_day": start,
        "duration_seconds": seconds,
    }


@pytest.mark.parametrize(
    ("restrictions", "expected"),
    [
        ([], ("", None, None)),
        ([daily("08:00:00", 12 * 3600)], ("", dt.time(8), dt.time(20))),
        # A night window runs past midnight: ours ends at or before it starts.
        (
            [weekly(5, "20:00:00", 12 * 3600), weekly(6, "20:00:00", 12 * 3600)],
            ("45", dt.time(20), dt.time(8)),
        ),
        (
            [weekly(1, "08:00:00", 3600), weekly(2, "09:00:00", 3600)],
            "restrictions with different times or lengths (ours: one window)",
        ),
        (
            [weekly(6, "10:00:00", 2 * 86400)],
            "a restriction of a day or longer (ours: a window within a day)",
        ),
        (
            [daily("08:00:00", 3600), weekly(2, "08:00:00", 3600)],
            "daily and weekly restrictions mixed (ours: one window)",
        ),
    ],
)
def test_restrictions(restrictions, expected):
    assert _restriction(restrictions) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (604800, (1, "weeks")),
        (2 * 604800, (2, "weeks")),
        (86400, (1, "days")),
        (8 * 3600, (8, "hours")),
        (5400, None),
    ],
)
def test_turns(seconds, expected):
    assert _turn(seconds) == expected


def rotation(people: list[str]) -> dict:
    return {
        "slug": "x",
        "participants": people,
        "shift_length": 1,
        "shift_unit": "weeks",
        "start_date": "2026-01-05",
        "handoff_time": "09:00",
        "time_zone": "Europe/London",
        "restrict_weekdays": "",
        "restrict_start": None,
        "restrict_end": None,
    }


@pytest.mark.parametrize(
    ("primary", "secondary", "scheme", "people"),
    [
        (
            ["a", "c", "e", "b", "d", "f"],
            ["b", "d", "f", "a", "c", "e"],
            "paired",
            ["a", "b", "c", "d", "e", "f"],
        ),
        (["a", "b", "c"], ["c", "a", "b"], "follow", ["a", "b", "c"]),
        (["a", "b", "c"], ["b", "c", "a"], None, None),  # secondary = next primary
    ],
)
def test_two_schedules_that_are_one_rotation(primary, secondary, scheme, people):
    from alerts.importers.pairing import paired_or_follow

    found = paired_or_follow(
        rotation(primary), rotation(secondary), slug="pd-p1", name="P + S"
    )
    if scheme is None:
        assert found is None
    else:
        assert (found["scheme"], found["participants"]) == (scheme, people)
        assert (found["slug"], found["name"]) == ("pd-p1", "P + S")
