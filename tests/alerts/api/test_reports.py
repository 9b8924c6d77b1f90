"""The reports API: contracts, CSV, the period, and refusals that say why."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from alerts.incidents.state import incident_acknowledge
from tests.alerts.conftest import drive, open_incident, sent
from tests.api_client import bearer_client


@pytest.fixture
def api(alice):
    return bearer_client(alice.user)


@pytest.fixture
def paged(team, integration, policy, alice, bob):
    """One incident: alice paged, then bob (escalated past alice), bob acknowledged."""
    now = timezone.now()
    incident = open_incident(integration, at=now)
    drive(now)
    drive(now + timedelta(minutes=5, seconds=6))
    sent()
    incident_acknowledge(incident=incident, by=bob, at=now + timedelta(minutes=7))
    return now


def team_tz():
    import zoneinfo

    return zoneinfo.ZoneInfo("Africa/Nairobi")


def _period(now) -> dict[str, str]:
    return {
        "team": "payments",
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }


def test_page_load_per_member(api, paged):
    response = api.get("/api/v1/reports/page-load/", _period(paged))
    assert response.status_code == 200, response.content
    body = response.json()
    members = {m["member"]: m for m in body["members"]}
    alice = members["alice"]
    assert {
        k: alice[k] for k in ("pages", "incidents", "acknowledged", "escalated_past")
    } == {"pages": 1, "incidents": 1, "acknowledged": 0, "escalated_past": 1}
    assert members["bob"]["acknowledged"] == 1
    assert alice["oncall_hours"] > 0
    assert isinstance(alice["sleep_interruptions"], int)
    [week] = alice["weeks"]
    # Her on-call week, handoff to handoff, in the team's zone (Nairobi).
    assert week["on_rota"] is True and week["pages"] == 1
    assert week["week"].endswith("+03:00") and week["week_end"] > week["week"]
    assert week["week"] <= paged.astimezone(team_tz()).isoformat() < week["week_end"]
    assert body["definitions"]["pages"].startswith("interruptions")


def test_page_load_as_csv(api, paged):
    response = api.get(
        "/api/v1/reports/page-load/", {**_period(paged), "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    totals = {r["member"]: r for r in rows if r["week"] == "total"}
    assert totals["alice"]["pages"] == "1"
    assert totals["alice"]["escalated_past"] == "1"
    weeks = [r for r in rows if r["member"] == "alice" and r["week"] != "total"]
    assert [r["pages"] for r in weeks] == ["1"]


def test_incident_figures(api, paged):
    response = api.get("/api/v1/reports/incidents/", _period(paged))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["incidents"] == 1
    assert body["mtta_seconds"]["median"] == 420.0
    assert body["mtta_seconds"]["p90"] == 420.0
    assert body["mttr_seconds"]["count"] == 0
    assert body["urgency"] == {"high": 1, "low": 0}
    [route] = body["routes"]
    assert (route["integration"], route["incidents"]) == ("prod", 1)
    [integration] = body["integrations"]
    assert integration["mtta_seconds"]["median"] == 420.0


def test_incident_figures_as_csv(api, paged):
    response = api.get(
        "/api/v1/reports/incidents/", {**_period(paged), "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (rows[0]["by"], rows[0]["key"], rows[0]["mtta_median"]) == (
        "all",
        "*",
        "420.0",
    )
    assert [(r["by"], r["key"], r["incidents"]) for r in rows[1:]] == [
        ("service", "", "1"),
        ("route", "prod/catch-all", "1"),
        ("integration", "prod", "1"),
    ]


def test_alert_quality(api, paged):
    response = api.get("/api/v1/reports/alert-quality/", _period(paged))
    assert response.status_code == 200, response.content
    [row] = response.json()["alerts"]
    assert row["alertname"] == "HighErrorRate"
    assert (row["incidents"], row["pages"], row["auto_resolved"], row["flapping"]) == (
        1,
        2,
        0,
        0,
    )


def test_alert_quality_as_csv_by_a_label_set(api, paged):
    response = api.get(
        "/api/v1/reports/alert-quality/",
        {**_period(paged), "format": "csv", "by": "alertname,severity"},
    )
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["alertname"], row["severity"], row["pages"]) == (
        "HighErrorRate",
        "critical",
        "2",
    )


def test_a_date_is_a_whole_day_in_the_teams_zone(api, team):
    response = api.get(
        "/api/v1/reports/page-load/",
        {"team": "payments", "from": "2026-03-01", "to": "2026-03-31"},
    )
    body = response.json()
    # Nairobi is UTC+3: the first of March starts at 21:00 UTC the day before.
    assert body["from"] == "2026-02-28T21:00:00+00:00"
    assert body["to"] == "2026-03-31T21:00:00+00:00"


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"from": "2026-01-01T00:00:00", "to": "2026-01-02"}, "from", "no UTC offset"),
        ({"from": "2026-01-05", "to": "2026-01-01"}, "to", "after from"),
        ({"from": "2026-01-01", "to": "2028-01-01"}, "to", "at most"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from", "not a date"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from", "ISO 8601"),
        ({"from": "2026-01-01", "to": "2026-01-02", "format": "xml"}, "format", ""),
        ({"to": "2026-01-02"}, "from", "required"),
    ],
)
def test_bad_periods_are_a_400_that_says_what_is_wrong(api, team, query, field, says):
    response = api.get("/api/v1/reports/page-load/", {"team": "payments", **query})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid request"
    assert says in " ".join(body["detail"][field])


def test_page_load_needs_a_team(api, team):
    response = api.get(
        "/api/v1/reports/page-load/", {"from": "2026-01-01", "to": "2026-01-02"}
    )
    assert response.status_code == 400
    assert "team" in response.json()["detail"]


def test_alert_quality_group_by_a_label_set(api, paged):
    response = api.get(
        "/api/v1/reports/alert-quality/",
        {**_period(paged), "group_by": "alertname,severity,service"},
    )
    assert response.status_code == 200, response.content
    [row] = response.json()["alerts"]
    assert row["labels"] == {
        "alertname": "HighErrorRate",
        "severity": "critical",
        "service": "",  # the incident has no service label
    }


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"group_by": "alertname,bad-label"}, "group_by", "not a label name"),
        ({"group_by": "a,b,c,d"}, "group_by", "at most 3 labels"),
        ({"group_by": "alertname,alertname"}, "group_by", "at most once"),
        ({"group_by": "alertname", "by": "service"}, "group_by", "not both"),
        ({"by": "1x"}, "by", "not a label name"),
    ],
)
def test_a_bad_group_by_is_a_400_naming_the_field(api, team, query, field, says):
    response = api.get(
        "/api/v1/reports/alert-quality/",
        {"from": "2026-01-01", "to": "2026-01-02", **query},
    )
    assert response.status_code == 400
    assert says in " ".join(response.json()["detail"][field])


def test_a_bad_label_set_is_a_400(api, team):
    response = api.get(
        "/api/v1/reports/alert-quality/",
        {"from": "2026-01-01", "to": "2026-01-02", "by": "alertname,bad-label"},
    )
    assert response.status_code == 400
    assert "not a label name" in response.json()["detail"]["by"][0]


def test_without_a_team_a_report_covers_only_the_callers_teams(
    paged, make_member, other_team
):
    from scheduling.models import TeamMembership

    zoe = make_member("zoe")
    TeamMembership.objects.create(team=other_team, member=zoe)
    period = {k: v for k, v in _period(paged).items() if k != "team"}
    outsider = bearer_client(zoe.user)
    assert outsider.get("/api/v1/reports/incidents/", period).json()["incidents"] == 0
    assert outsider.get("/api/v1/reports/alert-quality/", period).json()["alerts"] == []


ODD = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-01-01T00:00:00",
            "alertname\n",
            "alertname,service,job,instance",
            "-1",
            "9" * 30,
            "csv",
        ]
    ),
)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_odd_report_queries_answer_a_4xx_or_200_never_a_5xx(api, team, data):
    path = data.draw(
        st.sampled_from(
            [
                "/api/v1/reports/page-load/",
                "/api/v1/reports/incidents/",
                "/api/v1/reports/alert-quality/",
            ]
        )
    )
    query = data.draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "team",
                    "from",
                    "to",
                    "format",
                    "by",
                    "group_by",
                    "service",
                    "flap_window",
                ]
            ),
            ODD,
            max_size=5,
        )
    )
    query.setdefault("team", "payments")
    response = api.get(path, {k: v.replace("\x00", "") for k, v in query.items()})
    assert response.status_code in (200, 400), (query, response.content[:300])
    if response.status_code == 400:
        assert "error" in response.json()
