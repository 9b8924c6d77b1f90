"""The team insights page in the admin: charts, flags, tables, definitions."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.admin.insights import period_of, report_weeks
from alerts.models import InsightSettings
from tests.alerts.conftest import drive, open_incident, sent
from tests.cast import policy_create, utc


def _url(team, **query) -> str:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/admin/alerts/insightsettings/team/{team.pk}/" + (
        f"?{suffix}" if suffix else ""
    )


@pytest.fixture
def busy_week(team, rotation, integration):
    """Three pages to alice this week, over a team limit of 2: a flagged week."""
    policy_create(team, {"target": "primary", "channel": "sms"}, team_default=True)
    InsightSettings.objects.create(team=team, max_pages_per_week=2)
    now = timezone.now()
    for n in range(3):
        open_incident(integration, alertname=f"Alert{n}", at=now)
    drive(now)
    assert len(sent()) == 3
    return now


def test_the_page_shows_charts_flags_and_definitions(admin_client, team, busy_week):
    response = admin_client.get(_url(team))
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        'id="heatmap"' in html and "Pages by hour and weekday (Africa/Nairobi)" in html
    )
    # The charts: load per week, heatmap, MTTA/MTTR trend (the admin has its own
    # SVG icons).
    assert html.count('class="pygal-chart"') == 3
    assert html.count('class="flagged-week"') == 1
    assert "load: 3 (more than 2 pages a week)" in html
    assert 'id="member-alice"' in html
    assert "6 people, a primary and a secondary on call at a time" in html
    assert "Definitions" in html and "resolved before anyone acknowledged" in html
    assert "<script" not in html.split('id="insights"')[1]  # no pygal JS


def test_the_team_and_member_pages_link_to_it(admin_client, team, alice):
    team_page = admin_client.get(f"/admin/scheduling/team/{team.pk}/change/")
    assert _url(team) in team_page.content.decode()
    member_page = admin_client.get(f"/admin/scheduling/member/{alice.pk}/change/")
    assert f"{_url(team)}#member-alice" in member_page.content.decode()


@pytest.mark.parametrize("team_id", ["abc", "99999", "9" * 30, "%C2%B2"])
def test_an_unknown_team_is_a_404(admin_client, team, team_id):
    response = admin_client.get(f"/admin/alerts/insightsettings/team/{team_id}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("raw", "weeks", "refused"),
    [
        (None, 13, False),
        ("4", 4, False),
        ("0", 13, True),
        ("abc", 13, True),
        ("54", 13, True),
        ("１２", 13, True),
    ],
)
def test_the_number_of_weeks(raw, weeks, refused):
    got, note = report_weeks(raw)
    assert got == weeks
    assert (note is not None) is refused


def test_an_odd_weeks_value_says_so_on_the_page(admin_client, team):
    response = admin_client.get(_url(team, weeks="abc"))
    assert response.status_code == 200
    assert "weeks must be a whole number from 1 to 53" in response.content.decode()


def test_the_period_ends_with_the_current_week_in_the_teams_zone(team):
    # Sunday 2026-03-01 22:30 UTC is Monday 01:30 in Nairobi: a new week there.
    start, end = period_of(team, 1, utc(2026, 3, 1, 22, 30))
    assert start == dt.datetime(2026, 3, 1, 21, tzinfo=dt.UTC)
    assert end - start == timedelta(weeks=1)


def test_alert_quality_is_grouped_by_the_label_set_asked_for(
    admin_client, team, busy_week
):
    html = admin_client.get(_url(team, group_by="alertname,severity")).content.decode()
    quality = html.split('id="alert-quality"')[1]
    assert '<th class="label">alertname</th><th class="label">severity</th>' in quality
    assert '<td class="text">Alert0</td><td class="text">critical</td>' in quality
    assert 'value="alertname,severity"' in quality  # the form keeps the choice
    assert 'id="group-by-note"' not in html


def test_a_bad_label_set_says_why_and_shows_alert_names(admin_client, team, busy_week):
    html = admin_client.get(_url(team, group_by="alert-name")).content.decode()
    assert 'id="group-by-note"' in html
    assert "&#x27;alert-name&#x27; is not a label name" in html
    quality = html.split('id="alert-quality"')[1]
    assert '<th class="label">alertname</th><th>incidents</th>' in quality
