"""``/api/v1/teams/<slug>/insight-settings/``: members read, staff change, bad
values are a 400 that says what is wrong, and the reports use what was saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from alerts.insights.health import Thresholds
from alerts.models import InsightSettings
from tests.api_client import bearer_client

URL = "/api/v1/teams/payments/insight-settings/"
WHOLE = {
    "business_start": "09:00",
    "business_end": "17:30",
    "business_weekdays": "1234",
    "sleep_start": "23:00",
    "sleep_end": "07:00",
    "max_pages_per_week": 6,
    "max_sleep_interruptions_per_week": 1,
    "flap_window_seconds": 300,
}


@pytest.fixture
def staff(db):
    return bearer_client(get_user_model().objects.create_user("ops", is_staff=True))


def test_a_member_reads_the_defaults_of_a_team_without_settings(team, alice):
    body = bearer_client(alice.user).get(URL).json()
    assert body == {
        "team": "payments",
        "business_start": "08:00",
        "business_end": "18:00",
        "business_weekdays": "12345",
        "sleep_start": "22:00",
        "sleep_end": "08:00",
        "max_pages_per_week": 10,
        "max_sleep_interruptions_per_week": 2,
        "flap_window_seconds": 600,
        "saved": False,
    }
    assert not InsightSettings.objects.exists()  # reading saves nothing


def test_staff_replace_them_and_the_health_report_uses_them(team, alice, staff):
    response = staff.put(URL, WHOLE, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {**WHOLE, "team": "payments", "saved": True}
    saved = InsightSettings.objects.get(team=team)
    assert saved.flap_window == dt.timedelta(seconds=300)
    assert Thresholds.of(team) == Thresholds(6, 1)
    # The same body again changes nothing (PUT is idempotent).
    assert staff.put(URL, WHOLE, format="json").json() == response.json()
    assert InsightSettings.objects.count() == 1


def test_a_patch_changes_only_what_it_names(team, staff):
    staff.put(URL, WHOLE, format="json")
    body = staff.patch(URL, {"max_pages_per_week": 12}, format="json").json()
    assert body == {
        **WHOLE,
        "team": "payments",
        "saved": True,
        "max_pages_per_week": 12,
    }


def test_a_member_may_not_change_them(team, alice):
    response = bearer_client(alice.user).patch(
        URL, {"max_pages_per_week": 100}, format="json"
    )
    assert response.status_code == 403
    assert not InsightSettings.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"business_end": "07:00"}, "", "end after they start"),
        ({"business_weekdays": "1238"}, "business_weekdays", ""),
        ({"business_weekdays": "11"}, "business_weekdays", "at most once"),
        ({"flap_window_seconds": -1}, "flap_window_seconds", ""),
        ({"flap_window_seconds": 10**9}, "flap_window_seconds", ""),
        ({"sleep_start": "25:00"}, "sleep_start", ""),
        ({"max_pages_per_week": "many"}, "max_pages_per_week", ""),
    ],
)
def test_bad_values_are_a_400_that_says_what_is_wrong(team, staff, change, field, says):
    response = staff.put(URL, {**WHOLE, **change}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid request"
    text = str(body["detail"])
    if field:
        assert field in body["detail"]
    assert says in text
    assert not InsightSettings.objects.exists()
