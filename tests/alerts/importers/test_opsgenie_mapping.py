"""One Opsgenie object at a time: numbers to E.164, time restrictions to our
one daily window (or the reason they cannot be), rule delays to minutes."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.importers.client import SourceError
from alerts.importers.opsgenie_mapping import (
    delay_minutes,
    e164,
    phones,
    restriction,
    rotation,
)


@pytest.mark.parametrize(
    ("to", "number"),
    [
        ("1-5551234567", "+15551234567"),
        ("44-7700900123", "+447700900123"),
        ("90-532 123 45 67", "+905321234567"),
        ("+4915123456789", "+4915123456789"),
        ("5551234567", None),  # no country code: which country?
        ("0-5551234567", None),
        ("1-555", None),
        ("reception", None),
        (None, None),
    ],
)
def test_numbers_become_e164_or_nothing(to, number):
    assert e164(to) == number


def test_sms_and_voice_on_one_number_are_one_method_and_the_rest_is_reported():
    problems: list[str] = []
    contacts = [
        {"method": "sms", "to": "1-5551234567"},
        {"method": "voice", "to": "1-5551234567"},
        {"method": "email", "to": "a@example.com"},
        {"method": "voice", "to": "1-5550000000", "status": {"enabled": False}},
        {"method": "sms", "to": "front desk"},
    ]
    assert phones(contacts, "a@example.com", problems) == [
        {"phone": "+15551234567", "label": "", "sms": True, "voice": True}
    ]
    assert [p.split(": ", 1)[1] for p in problems] == [
        "voice contact disabled there; skipped",
        "sms contact 'front desk' is not a phone number we can write in E.164; skipped",
    ]


def _window(start_day, start, end_day, end):
    return {
        "startDay": start_day,
        "startHour": start,
        "startMin": 0,
        "endDay": end_day,
        "endHour": end,
        "endMin": 0,
    }


def test_restrictions_our_daily_window_can_hold():
    assert restriction(None) == [("", None, None)]
    night = {
        "type": "time-of-day",
        "restriction": {"startHour": 20, "startMin": 30, "endHour": 8, "endMin": 0},
    }
    assert restriction(night) == [("", dt.time(20, 30), dt.time(8))]
    weeknights = {
        "type": "weekday-and-time-of-day",
        "restrictions": [
            _window("monday", 20, "tuesday", 8),
            _window("sunday", 20, "monday", 8),
        ],
    }
    assert restriction(weeknights) == [("06", dt.time(20), dt.time(8))]


def test_windows_of_a_day_or_more_are_cut_in_twelve_hours_grouped_by_time():
    weekend = {
        "type": "weekday-and-time-of-day",
        "restrictions": [_window("friday", 17, "monday", 8)],  # 63 hours
    }
    assert restriction(weekend) == [
        ("0", dt.time(5), dt.time(8)),  # the 3 hours left, Monday 05:00-08:00
        ("56", dt.time(5), dt.time(17)),
        ("456", dt.time(17), dt.time(5)),
    ]
    whole_days = {
        "type": "weekday-and-time-of-day",
        "restrictions": [_window("saturday", 0, "monday", 0)],
    }
    assert restriction(whole_days) == [
        ("56", dt.time(0), dt.time(12)),
        ("56", dt.time(12), dt.time(0)),
    ]


def test_uneven_windows_become_one_rotation_per_time_of_day():
    uneven = {
        "type": "weekday-and-time-of-day",
        "restrictions": [
            _window("monday", 9, "monday", 17),
            _window("friday", 9, "friday", 12),
        ],
    }
    assert restriction(uneven) == [
        ("4", dt.time(9), dt.time(12)),
        ("0", dt.time(9), dt.time(17)),
    ]
    assert "'sometimes'" in restriction({"type": "sometimes"})


def test_rule_delays_in_minutes_hours_days():
    assert delay_minutes({"delay": {"timeAmount": 5, "timeUnit": "minutes"}}) == 5
    assert delay_minutes({"delay": {"timeAmount": 2, "timeUnit": "hours"}}) == 120
    assert delay_minutes({}) == 0
    with pytest.raises(SourceError, match="weeks"):
        delay_minutes({"delay": {"timeAmount": 1, "timeUnit": "weeks"}})


def test_a_rotation_hands_off_at_its_start_on_the_schedules_wall_clock():
    made = rotation(
        schedule={"name": "Ops", "timezone": "America/New_York"},
        source={
            "id": "AB-12",
            "name": "Weekly",
            "type": "hourly",
            "length": 12,
            "startDate": "2026-07-06T13:00:00Z",  # 09:00 EDT
            "participants": [{"type": "user", "id": "u1"}],
        },
        layer=1,
        team="ops",
        usernames={"u1": "alice"},
        now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert isinstance(made, list) and len(made) == 1
    made = made[0]
    assert (made["slug"], made["shift_length"], made["shift_unit"]) == (
        "og-ab-12",
        12,
        "hours",
    )
    assert (made["start_date"], made["handoff_time"]) == ("2026-07-06", "09:00:00")
